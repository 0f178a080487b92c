"""Pure PyTorch building blocks (no scikit-learn here): networks, heatmaps, losses."""

from .cnn import KeypointCNN
from .fpn import HeatmapFPN
from .heatmaps import decode_heatmaps, gaussian_heatmaps, soft_argmax, spatial_softmax
from .losses import HeatmapLoss, MaskedKeypointLoss, jensen_shannon_to_gaussians
from .resnet import ResNet18Keypoints
from .unet import UNet

__all__ = [
    "HeatmapFPN",
    "HeatmapLoss",
    "KeypointCNN",
    "MaskedKeypointLoss",
    "ResNet18Keypoints",
    "UNet",
    "decode_heatmaps",
    "gaussian_heatmaps",
    "jensen_shannon_to_gaussians",
    "soft_argmax",
    "spatial_softmax",
]
