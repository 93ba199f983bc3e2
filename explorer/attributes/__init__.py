"""Attribute classifiers: a small CNN that says which factors a (generated) image shows.

Trained on a labelled built-in dataset, shipped in weights/classifiers/ (a sub-folder, so the
model list does not show them), and used three ways:
- labels for generated images: linear separability (explorer.metrics) and supervised
  latent directions (a linear probe on w needs a label per sample);
- the `domain` feature network of the metrics: `features(img) -> [N, D]`, independent of ImageNet;
- its feature pyramid `feature_maps(img)` for the perceptual distance of path length.

API (everything takes images in [-1, 1], [N, C, H, W], any size; C of 1 or 3):

    clf = load_classifier("faces")            # or "mnist", or a path to name.json
    clf.predict(img)   # {"smile": p [N], "head_size": value [N], ...}; mnist: {"digit": probs [N, 10]}
    clf.features(img)  # [N, D]
    binarize(clf.predict(img))  # {"smile": (bool [N], confidence [N]), "digit=3": ...}

Train (the command is stored in each classifier's JSON card, with its held-out accuracy):

    python -m explorer.attributes --data faces --out weights/classifiers/faces
"""


from .classifier import (CLASSIFIER_DIR, FORMAT, KINDS, Attribute, AttributeClassifier, ClassifierConfig,
                         ClassifierError, attributes_for, binarize, classifier_path, load_classifier,
                         save_classifier, split_outputs)
from .train import classifier_loss, evaluate, labelled_data, train_classifier

__all__ = ["CLASSIFIER_DIR", "FORMAT", "KINDS", "Attribute", "AttributeClassifier", "ClassifierConfig", "ClassifierError",
           "attributes_for", "binarize", "classifier_loss", "classifier_path", "evaluate", "labelled_data",
           "load_classifier", "save_classifier", "split_outputs", "train_classifier"]
