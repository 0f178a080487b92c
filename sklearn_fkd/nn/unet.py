"""A small U-Net (Ronneberger et al. 2015) that outputs one heatmap per keypoint."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .prior import MapsWithPrior, ShapePrior


def _double_conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class UNet(MapsWithPrior):
    """U-Net with ``depth`` down/up steps, doubling the width at each step.

    Parameters
    ----------
    n_keypoints : int
        Output channels: one heatmap per keypoint, at the input resolution.
    in_channels : int, default=1
    depth : int, default=3
    base_channels : int, default=32

    Notes
    -----
    Shapes: input ``(B, in_channels, H, W)`` -> output ``(B, n_keypoints, H, W)`` (any H, W)
    """

    #: prefixes of the parameters of the last layer (re-initialised for new points)
    HEAD = ("head",)

    def __init__(
        self, n_keypoints: int, in_channels: int = 1, depth: int = 3, base_channels: int = 32
    ):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        widths = [base_channels * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList()
        c = in_channels
        for w in widths[:-1]:
            self.down.append(_double_conv(c, w))
            c = w
        self.bottom = _double_conv(c, widths[-1])
        self.up_convs = nn.ModuleList()
        self.up_blocks = nn.ModuleList()
        for w_skip, w_low in zip(reversed(widths[:-1]), reversed(widths[1:]), strict=True):
            self.up_convs.append(nn.ConvTranspose2d(w_low, w_skip, 2, stride=2))
            self.up_blocks.append(_double_conv(2 * w_skip, w_skip))
        self.head = nn.Conv2d(widths[0], n_keypoints, 1)
        self.prior = ShapePrior(n_keypoints)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2, ceil_mode=True)
        x = self.bottom(x)
        for up, block, skip in zip(self.up_convs, self.up_blocks, reversed(skips), strict=True):
            x = up(x)
            x = x[..., : skip.shape[-2], : skip.shape[-1]]  # odd sizes: crop the upsampled map
            if x.shape[-2:] != skip.shape[-2:]:
                x = F.pad(x, (0, skip.shape[-1] - x.shape[-1], 0, skip.shape[-2] - x.shape[-2]))
            x = block(torch.cat([skip, x], dim=1))
        return self.prior(self.head(x))
