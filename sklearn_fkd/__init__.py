"""sklearn-fkd: scikit-learn compatible facial keypoint detection.

Keypoints are ``(n_samples, 2K)`` arrays of 0-based pixel coordinates (``x0, y0, x1,
y1, ...``, NaN = missing); images are ``(n, H, W)`` or ``(n, H, W, C)`` arrays.
"""

__version__ = "0.1.0.dev0"

from .augment import Augment
from .estimators import (
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    NoseRegressor,
)
from .keypoints import (
    IBUG68,
    IMM58,
    KAGGLE15,
    NOSE,
    KeypointSchema,
    convert_keypoints,
    infer_schema,
    to_flat,
    to_points,
)

__all__ = [
    "IBUG68",
    "IMM58",
    "KAGGLE15",
    "NOSE",
    "Augment",
    "FaceKeypointRegressor",
    "HeatmapKeypointEstimator",
    "KeypointSchema",
    "NoseRegressor",
    "__version__",
    "convert_keypoints",
    "infer_schema",
    "to_flat",
    "to_points",
]
