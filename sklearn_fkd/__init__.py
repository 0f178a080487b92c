"""sklearn-fkd: scikit-learn compatible facial keypoint detection.

Keypoints are ``(n_samples, 2K)`` arrays of 0-based pixel coordinates (``x0, y0, x1,
y1, ...``, NaN = missing); images are ``(n, H, W)`` or ``(n, H, W, C)`` arrays.

The names below are imported when first used (PEP 562), so ``import sklearn_fkd`` and
the command line's ``--help`` do not pay for torch, skorch and scikit-learn until a
model is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__

#: each public name and the module that defines it
_LAZY = {
    "Augment": "augment",
    "detect_faces": "detection",
    "FaceKeypointRegressor": "estimators",
    "HeatmapKeypointEstimator": "estimators",
    "NoseRegressor": "estimators",
    "IBUG68": "keypoints",
    "IMM58": "keypoints",
    "KAGGLE15": "keypoints",
    "NOSE": "keypoints",
    "WEBMORPH189": "keypoints",
    "KeypointSchema": "keypoints",
    "convert_keypoints": "keypoints",
    "infer_schema": "keypoints",
    "to_flat": "keypoints",
    "to_points": "keypoints",
    "predict_faces": "photos",
    "KeypointPipeline": "pipeline",
    "make_keypoint_pipeline": "pipeline",
    "PretrainedWeights": "weights",
    "list_pretrained": "pretrained",
    "load_pretrained": "pretrained",
    "predict_video": "video",
}

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
    "predict_video",
    "to_flat",
    "to_points",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sklearn_fkd' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from .augment import Augment
    from .detection import detect_faces
    from .estimators import FaceKeypointRegressor, HeatmapKeypointEstimator, NoseRegressor
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
    from .pretrained import list_pretrained, load_pretrained
    from .video import predict_video
    from .weights import PretrainedWeights
