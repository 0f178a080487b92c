"""A small configurable CNN that regresses keypoint coordinates."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class KeypointCNN(nn.Module):
    """Conv blocks (conv-BN-ReLU, conv-BN-ReLU, 2x2 max-pool), then fully connected layers.

    The course model, grown up: any input size works (an adaptive average pool brings the
    last feature map to ``pool_size`` before the fully connected head).

    Parameters
    ----------
    n_outputs : int
        ``2K`` coordinates.
    in_channels : int, default=1
    channels : sequence of int, default=(32, 64, 128, 256)
        Output channels of each block; the number of blocks is its length.
    kernel_size : int, default=3
        Odd kernel size of every convolution.
    convs_per_block : int, default=2
    hidden_units : int, default=256
        Width of the hidden fully connected layer (0: none).
    dropout : float, default=0.2
    pool_size : (int, int), default=(4, 4)

    Shapes
    ------
    input ``(B, in_channels, H, W)`` -> output ``(B, n_outputs)``
    """

    def __init__(
        self,
        n_outputs: int,
        in_channels: int = 1,
        channels: Sequence[int] = (32, 64, 128, 256),
        kernel_size: int = 3,
        convs_per_block: int = 2,
        hidden_units: int = 256,
        dropout: float = 0.2,
        pool_size: tuple[int, int] = (4, 4),
    ):
        super().__init__()
        if kernel_size % 2 == 0 or kernel_size < 1:
            raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}")
        if not channels:
            raise ValueError("channels must list at least one block width")
        layers: list[nn.Module] = []
        c_in = in_channels
        for c_out in channels:
            for _ in range(convs_per_block):
                layers += [
                    nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=False),
                    nn.BatchNorm2d(c_out),
                    nn.ReLU(inplace=True),
                ]
                c_in = c_out
            layers.append(nn.MaxPool2d(2, ceil_mode=True))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(tuple(pool_size))
        n_flat = c_in * pool_size[0] * pool_size[1]
        head: list[nn.Module] = [nn.Flatten(), nn.Dropout(dropout)]
        if hidden_units:
            head += [nn.Linear(n_flat, hidden_units), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            n_flat = hidden_units
        head.append(nn.Linear(n_flat, n_outputs))
        self.head = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)))
