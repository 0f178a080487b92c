"""sklearn-fkd: scikit-learn compatible facial keypoint detection.

Keypoints are ``(n_samples, 2K)`` arrays of 0-based pixel coordinates (``x0, y0, x1,
y1, ...``, NaN = missing); images are ``(n, H, W)`` or ``(n, H, W, C)`` arrays.
"""

__version__ = "0.1.0.dev0"

from .augment import Augment
from .detection import detect_faces
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
    WEBMORPH189,
    KeypointSchema,
    convert_keypoints,
    infer_schema,
    to_flat,
    to_points,
)
from .photos import predict_faces
from .pipeline import KeypointPipeline, make_keypoint_pipeline
from .pretrained import PretrainedWeights, list_pretrained, load_pretrained

__all__ = [
    "IBUG68",
    "IMM58",
    "KAGGLE15",
    "NOSE",
    "WEBMORPH189",
    "Augment",
    "FaceKeypointRegressor",
    "HeatmapKeypointEstimator",
    "KeypointPipeline",
    "KeypointSchema",
    "NoseRegressor",
    "PretrainedWeights",
    "__version__",
    "convert_keypoints",
    "detect_faces",
    "infer_schema",
    "list_pretrained",
    "load_pretrained",
    "make_keypoint_pipeline",
    "predict_faces",
    "to_flat",
    "to_points",
]
