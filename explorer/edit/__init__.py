"""Latent-space tools: seeds, truncation, mixing, directions, interpolation."""
