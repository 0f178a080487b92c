"""The mean-shape start: networks whose untrained output is the training mean shape.

A network trained from scratch on a small, well-aligned data set can end up worse than
simply predicting the mean training shape. Starting from that shape makes the baseline
the floor: the network then learns only how each face departs from it.

* Networks that regress coordinates through a linear layer (``head="fc"``, ResNet-18)
  start with that layer's weights at zero and its bias at the mean shape.
* Networks that output one logit map per point (soft-argmax heads, heatmaps) add a
  fixed log-prior to each map: a Gaussian around the point's mean position with the
  spread of the training positions. The prior is a term of the logits, so a peak still
  forms where the features say the point is (the maps stay translation-equivariant);
  an uninformed map falls back on the prior. The small CNN's soft-argmax head starts at
  zero, so its untrained output is exactly the mean shape; the heatmap networks keep
  their head's random start, since zeroing it slowed their training (on synthetic
  faces, 0.66 instead of 0.29 of the mean shape's error after 8 epochs), so theirs is
  the mean shape up to that noise.
"""

from __future__ import annotations

import torch
from torch import nn


class ShapePrior(nn.Module):
    """A per-keypoint Gaussian log-prior added to logit maps.

    Parameters
    ----------
    n_keypoints : int

    Attributes (buffers)
    --------------------
    mean : Tensor of shape (K, 2)
        Each point's mean position, ``[-1, 1]`` coordinates (``align_corners=False``).
    precision : Tensor of shape (K, 2)
        ``1 / (2 spread^2)`` per axis in the same units; zero (the initial value)
        means no prior.

    Notes
    -----
    Shapes: logits ``(B, K, h, w)`` -> the same (float32), plus the log-prior.
    """

    def __init__(self, n_keypoints: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_keypoints, 2))
        self.register_buffer("precision", torch.zeros(n_keypoints, 2))

    def set(self, mean: torch.Tensor, spread: torch.Tensor) -> None:
        """Centre the prior on ``mean`` (K, 2) with standard deviations ``spread`` (K, 2)."""
        self.mean.copy_(torch.as_tensor(mean, dtype=self.mean.dtype))
        spread = torch.as_tensor(spread, dtype=self.mean.dtype).clamp_min(1e-3)
        self.precision.copy_(1.0 / (2.0 * spread**2))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.float() + self.log_prior(*logits.shape[-2:], device=logits.device)

    def log_prior(self, h: int, w: int, device) -> torch.Tensor:
        """The ``(K, h, w)`` float32 log-prior, computed once per map size and buffer
        state (it is a constant of the fitted network: recomputing it was a large share of
        a one-face forward pass)."""
        tracing = torch.compiler.is_compiling()  # export, torch.compile: no cache
        buffers = (self.mean, self.precision)  # held by the cache: their ids stay theirs
        key = (h, w, str(device), *((id(t), t._version) for t in buffers))
        cached = getattr(self, "_cached", None)
        if not tracing and cached is not None and cached[0] == key:
            return cached[1]
        dtype = torch.float32  # also under bfloat16 autocast: the prior needs the precision
        xs = (2 * torch.arange(w, device=device, dtype=dtype) + 1) / w - 1
        ys = (2 * torch.arange(h, device=device, dtype=dtype) + 1) / h - 1
        # no narrower than one map cell (2 / size), which a coarse grid cannot resolve
        cell_limit = torch.tensor([w**2 / 8.0, h**2 / 8.0], device=device, dtype=dtype)
        precision = torch.minimum(self.precision.to(dtype), cell_limit)
        log_x = _centred_log_gaussian(xs, self.mean[:, 0].to(dtype), precision[:, 0])
        log_y = _centred_log_gaussian(ys, self.mean[:, 1].to(dtype), precision[:, 1])
        prior = log_y[:, :, None] + log_x[:, None, :]
        if not tracing:
            self._cached = (key, prior, buffers)
        return prior


@torch.no_grad()
def _centred_log_gaussian(grid, mean, precision, steps: int = 8):
    """``-precision * (grid - c)^2`` per point, ``(K, n)``, with the centre ``c`` moved so
    that the expectation of its softmax over the (finite) grid is ``mean``: near the
    border the grid cuts a Gaussian off and its expectation drifts inwards. Newton's
    method: the expectation's derivative in ``c`` is ``2 precision Var(grid)``, which a
    wide prior makes small (the plain fixed-point step then crawls)."""
    centre = mean.clone()
    for _ in range(steps):
        prob = torch.softmax(-precision[:, None] * (grid - centre[:, None]) ** 2, dim=1)
        expected = (prob * grid).sum(dim=1)
        variance = (prob * (grid - expected[:, None]) ** 2).sum(dim=1)
        slope = (2 * precision * variance).clamp_min(1e-3)
        centre = centre + (mean - expected) / slope
    return -precision[:, None] * (grid - centre[:, None]) ** 2


class MapsWithPrior(nn.Module):
    """Base of the networks that output logit maps through a :class:`ShapePrior`
    (``self.prior``, which the subclass creates)."""

    prior: ShapePrior

    def start_from_mean_shape(self, mean: torch.Tensor, spread: torch.Tensor) -> None:
        """Centre the maps on the mean shape; ``mean``, ``spread``: (K, 2), ``[-1, 1]``
        units. The head keeps its random start (zeroing it starves the layers below of
        gradient: measurably slower training)."""
        self.prior.set(mean, spread)


def zero_init(layer: nn.Module) -> None:
    """Zero a layer's weight and bias (the start of a residual branch)."""
    nn.init.zeros_(layer.weight)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
