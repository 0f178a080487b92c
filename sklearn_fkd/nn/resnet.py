"""torchvision's ResNet-18 with an n-channel stem and a coordinate head."""

from __future__ import annotations

import os

import torch
from torch import nn


class ResNet18Keypoints(nn.Module):
    """ResNet-18 (He et al. 2016) regressing ``n_outputs`` coordinates.

    Parameters
    ----------
    n_outputs : int
    in_channels : int, default=1
        The first convolution takes this many channels (1 for grey faces).
    weights : str or path-like, optional
        A local state dict of a torchvision ResNet-18 (e.g. ImageNet weights you
        downloaded yourself), loaded with ``torch.load(weights_only=True)``. The stem's
        RGB filters are summed into one grey channel when ``in_channels == 1``; the final
        ``fc`` layer is not loaded. Nothing is ever downloaded.

    Notes
    -----
    Shapes: input ``(B, in_channels, H, W)`` -> output ``(B, n_outputs)``
    """

    #: prefixes of the parameters of the last layer (re-initialised for new points)
    HEAD = ("net.fc",)

    def __init__(
        self, n_outputs: int, in_channels: int = 1, weights: str | os.PathLike | None = None
    ):
        super().__init__()
        # imported here: torchvision costs over a second at import (it loads torch's
        # compiler stack), and only this network needs it
        from torchvision.models import resnet18

        net = resnet18(weights=None, num_classes=n_outputs)
        net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        if weights is not None:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or "conv1.weight" not in state:
                raise ValueError(f"{weights} is not a torchvision ResNet-18 state dict")
            state = {k: v for k, v in state.items() if not k.startswith("fc.")}
            stem = state["conv1.weight"]
            if stem.shape[1] != in_channels:
                if in_channels == 1:
                    state["conv1.weight"] = stem.sum(dim=1, keepdim=True)
                else:
                    raise ValueError(
                        f"{weights}: stem has {stem.shape[1]} input channels, model {in_channels}"
                    )
            missing, unexpected = net.load_state_dict(state, strict=False)
            if unexpected or set(missing) - {"fc.weight", "fc.bias"}:
                raise ValueError(
                    f"{weights}: keys do not match ResNet-18 ({unexpected or missing})"
                )
        self.net = net

    def start_from_mean_shape(self, mean: torch.Tensor, spread: torch.Tensor) -> None:
        """Make the untrained output the mean shape: the final layer's weights at zero,
        its bias at ``mean`` ((K, 2), ``[-1, 1]`` units; ``spread`` is not needed)."""
        nn.init.zeros_(self.net.fc.weight)
        with torch.no_grad():
            self.net.fc.bias.copy_(torch.as_tensor(mean, dtype=self.net.fc.bias.dtype).reshape(-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
