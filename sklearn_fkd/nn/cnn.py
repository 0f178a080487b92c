"""A small configurable CNN that regresses keypoint coordinates."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .heatmaps import soft_argmax
from .prior import ShapePrior, zero_init

HEADS = ("softargmax", "fc")


class KeypointCNN(nn.Module):
    """Conv blocks (``convs_per_block`` x conv-BN-ReLU), max-pooling, and a coordinate head.

    Two heads:

    * ``"softargmax"`` (default): a 1x1 convolution gives one logit map per keypoint at
      ``output_stride``; the coordinates are their spatial-softmax expectations
      (integral regression / DSNT, Nibali et al. 2018). Translation-equivariant and far
      more data-efficient than a fully connected head.
    * ``"fc"``: the course model: pooling after every block, an adaptive average pool to
      ``pool_size``, then fully connected layers.

    Parameters
    ----------
    n_outputs : int
        ``2K`` coordinates (normalised to ``[-1, 1]``).
    in_channels : int, default=1
    channels : sequence of int, default=(16, 32, 64, 128, 128)
        Output channels of each block; the number of blocks is its length.
    kernel_size : int, default=3
        Odd kernel size of every convolution.
    convs_per_block : int, default=1
    head : {"softargmax", "fc"}, default="softargmax"
    output_stride : int, default=8
        ``"softargmax"``: blocks are followed by 2x2 max-pooling until the feature map is
        ``output_stride`` times smaller than the input; later blocks keep that size.
    hidden_units : int, default=256
        ``"fc"``: width of the hidden fully connected layer (0: none).
    dropout : float, default=0.0
        ``"fc"``: dropout before the fully connected layers.
    pool_size : (int, int), default=(4, 4)
        ``"fc"``: size of the adaptive average pool.

    Notes
    -----
    Shapes: input ``(B, in_channels, H, W)`` -> output ``(B, n_outputs)``
    """

    #: prefixes of the parameters of the last layer (re-initialised for new points)
    HEAD = ("head",)

    def __init__(
        self,
        n_outputs: int,
        in_channels: int = 1,
        channels: Sequence[int] = (16, 32, 64, 128, 128),
        kernel_size: int = 3,
        convs_per_block: int = 1,
        head: str = "softargmax",
        output_stride: int = 8,
        hidden_units: int = 256,
        dropout: float = 0.0,
        pool_size: tuple[int, int] = (4, 4),
    ):
        super().__init__()
        if kernel_size % 2 == 0 or kernel_size < 1:
            raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}")
        if not channels:
            raise ValueError("channels must list at least one block width")
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        if n_outputs % 2:
            raise ValueError(f"n_outputs must be even (x, y per point), got {n_outputs}")
        self.head_type = head
        layers: list[nn.Module] = []
        c_in, stride = in_channels, 1
        for c_out in channels:
            for _ in range(convs_per_block):
                layers += [
                    nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=False),
                    nn.BatchNorm2d(c_out),
                    nn.ReLU(inplace=True),
                ]
                c_in = c_out
            if head == "fc" or stride < output_stride:
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
                stride *= 2
        self.features = nn.Sequential(*layers)
        self.prior = ShapePrior(n_outputs // 2) if head == "softargmax" else None
        if head == "softargmax":
            self.head = nn.Conv2d(c_in, n_outputs // 2, 1)
        else:
            n_flat = c_in * pool_size[0] * pool_size[1]
            fc: list[nn.Module] = [nn.AdaptiveAvgPool2d(tuple(pool_size)), nn.Flatten()]
            fc.append(nn.Dropout(dropout))
            if hidden_units:
                fc += [nn.Linear(n_flat, hidden_units), nn.ReLU(inplace=True), nn.Dropout(dropout)]
                n_flat = hidden_units
            fc.append(nn.Linear(n_flat, n_outputs))
            self.head = nn.Sequential(*fc)

    def start_from_mean_shape(self, mean: torch.Tensor, spread: torch.Tensor) -> None:
        """Make the untrained output the mean shape (see :mod:`sklearn_fkd.nn.prior`).

        Parameters
        ----------
        mean, spread : Tensor of shape (K, 2)
            Mean positions and their standard deviations, ``[-1, 1]`` coordinates.
        """
        if self.prior is not None:
            zero_init(self.head)
            self.prior.set(mean, spread)
        else:
            last = self.head[-1]
            nn.init.zeros_(last.weight)
            with torch.no_grad():
                last.bias.copy_(torch.as_tensor(mean, dtype=last.bias.dtype).reshape(-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.features(x))
        if self.head_type == "softargmax":
            return soft_argmax(self.prior(out)).flatten(1)
        return out
