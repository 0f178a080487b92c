"""The keypoint estimators: skorch ``NeuralNet`` subclasses, real scikit-learn estimators."""

from .dataset import BatchIterator, KeypointDataset
from .heatmap import HeatmapKeypointEstimator
from .net import KeypointNet
from .regression import FaceKeypointRegressor, NoseRegressor

__all__ = [
    "BatchIterator",
    "FaceKeypointRegressor",
    "HeatmapKeypointEstimator",
    "KeypointDataset",
    "KeypointNet",
    "NoseRegressor",
]
