"""A light ResNet-style encoder with a top-down decoder: heatmaps at stride 4."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .prior import MapsWithPrior, ShapePrior


def _conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class BasicBlock(nn.Module):
    """ResNet's basic block (He et al. 2016): two 3x3 convolutions and a shortcut."""

    #: prefixes of the parameters of the last layer (re-initialised for new points)
    HEAD = ("head",)

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.body = nn.Sequential(
            _conv_bn_relu(c_in, c_out, stride),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class HeatmapFPN(MapsWithPrior):
    """One logit map per keypoint at ``output_stride``, from a light ResNet encoder.

    A stride-2 stem, then one stage per entry of ``widths`` (strides 4, 8, 16, 32),
    each a stride-2 :class:`BasicBlock` followed by ``blocks[i] - 1`` more; a top-down
    path (feature pyramid, Lin et al. 2017) adds each stage's 1x1 projection to the
    upsampled coarser one down to ``output_stride``, and a 1x1 convolution gives the
    maps. Most of the computation sits at strides 4-16, where a CPU convolves
    efficiently; the maps at stride 4 are decoded with sub-pixel accuracy
    (:func:`~sklearn_fkd.nn.soft_argmax`).

    Parameters
    ----------
    n_keypoints : int
    in_channels : int, default=1
    widths : sequence of int, default=(32, 64, 128, 256)
        Channels of the stages at strides 4, 8, 16 and 32.
    blocks : sequence of int, default=(1, 2, 2, 1)
        Basic blocks per stage.
    stem_channels : int, default=24
    decoder_channels : int, default=64
    output_stride : {4, 8, 16}, default=4

    Notes
    -----
    Shapes: input ``(B, in_channels, H, W)`` -> output
    ``(B, n_keypoints, ceil(H / output_stride), ceil(W / output_stride))``. The last
    convolution runs in float32 under autocast, so the maps keep their precision.
    """

    def __init__(
        self,
        n_keypoints: int,
        in_channels: int = 1,
        widths: Sequence[int] = (32, 64, 128, 256),
        blocks: Sequence[int] = (1, 2, 2, 1),
        stem_channels: int = 24,
        decoder_channels: int = 64,
        output_stride: int = 4,
    ):
        super().__init__()
        widths, blocks = tuple(int(w) for w in widths), tuple(int(b) for b in blocks)
        if not widths or len(widths) != len(blocks) or min(blocks) < 1 or min(widths) < 1:
            raise ValueError(
                f"widths and blocks must be equally long with positive entries, got "
                f"{widths} and {blocks}"
            )
        if output_stride not in (4, 8, 16) or output_stride > 4 * 2 ** (len(widths) - 1):
            raise ValueError(
                f"output_stride must be 4, 8 or 16 (within the stages), got {output_stride}"
            )
        self.output_stride = output_stride
        self.stem = _conv_bn_relu(in_channels, stem_channels, stride=2)
        stages, c = [], stem_channels
        for width, n in zip(widths, blocks, strict=True):
            stages.append(
                nn.Sequential(
                    BasicBlock(c, width, 2), *(BasicBlock(width, width) for _ in range(n - 1))
                )
            )
            c = width
        self.stages = nn.ModuleList(stages)
        self.lateral = nn.ModuleList(nn.Conv2d(w, decoder_channels, 1) for w in widths)
        self.smooth = _conv_bn_relu(decoder_channels, decoder_channels)
        self.head = nn.Conv2d(decoder_channels, n_keypoints, 1)
        self.prior = ShapePrior(n_keypoints)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = []
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        out = self.lateral[-1](features[-1])
        for i in range(len(features) - 2, -1, -1):
            if 4 * 2**i < self.output_stride:
                break
            out = F.interpolate(out, size=features[i].shape[-2:], mode="nearest")
            out = out + self.lateral[i](features[i])
        out = self.smooth(out)
        with torch.autocast(out.device.type, enabled=False):
            return self.prior(self.head(out.float()))
