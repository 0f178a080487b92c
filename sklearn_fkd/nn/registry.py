"""The networks by name: what a model file records to rebuild a network, and what a
fine-tuned estimator takes over from the one it starts from."""

from __future__ import annotations

import torch
from torch import nn

from .cnn import KeypointCNN
from .fpn import HeatmapFPN
from .resnet import ResNet18Keypoints
from .transfer import MapsToCoordinates
from .unet import UNet

#: name -> (class, what it outputs: "coordinates" (B, 2K) or logit "maps" (B, K, h, w))
NETWORKS = {
    "cnn": (KeypointCNN, "coordinates"),
    "resnet18": (ResNet18Keypoints, "coordinates"),
    "unet": (UNet, "maps"),
    "fpn": (HeatmapFPN, "maps"),
}


def build_network(name: str, params: dict, n_keypoints: int, in_channels: int) -> nn.Module:
    """A network of :data:`NETWORKS` for ``n_keypoints`` points and ``in_channels``.

    Parameters
    ----------
    name : str
    params : dict
        Its constructor's other arguments (``widths``, ``depth``...).
    n_keypoints, in_channels : int

    Returns
    -------
    torch.nn.Module
    """
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}; known: {', '.join(NETWORKS)}")
    cls, output = NETWORKS[name]
    count = 2 * n_keypoints if output == "coordinates" else n_keypoints
    return cls(count, in_channels=in_channels, **params)


def network_for(spec, n_keypoints: int, n_channels: int, output: str) -> torch.nn.Module:
    """The network a spec ``(name, params)`` names, for ``n_keypoints`` points,
    ``n_channels`` input channels and an estimator of ``output`` kind (a heatmap network
    read out as coordinates by a regressor)."""
    name, params = spec
    module = build_network(name, dict(params), n_keypoints, n_channels)
    made = NETWORKS[name][1]
    if output == made:
        return module
    if output == "coordinates" and made == "maps":
        return MapsToCoordinates(module)
    raise ValueError(f"an estimator of {output} needs another network; {name!r} outputs {made}")
