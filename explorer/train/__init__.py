"""Training: recipes, datasets, losses, the Trainer and the run directory."""
