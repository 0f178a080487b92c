"""The keypoint estimators: skorch ``NeuralNet`` subclasses, real scikit-learn estimators."""

from ._base import BatchIterator, KeypointNet
from .heatmap import HeatmapKeypointEstimator
from .regression import FaceKeypointRegressor, NoseRegressor

__all__ = [
    "BatchIterator",
    "FaceKeypointRegressor",
    "HeatmapKeypointEstimator",
    "KeypointNet",
    "NoseRegressor",
]
