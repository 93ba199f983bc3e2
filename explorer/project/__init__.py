"""Projection: a person's own picture into a model's latent space (w, w+ or z), optionally with PTI,
kept beside the model so every tab can use it where it takes a seed ("@key").

    target.py     the upload, read safely and cropped to the model's input
    losses.py     the perceptual distance (offline pyramids), pixel MSE, the noise regulariser
    projector.py  the optimisation (ProjectConfig, Projection) and ws_of for stored latents
    store.py      NAME.latents/KEY.* beside the checkpoint
    __main__.py   python -m explorer.project IMAGE --model NAME ...
"""
