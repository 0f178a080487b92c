"""Losses that train around missing keypoints (NaN targets)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .heatmaps import expected_position, gaussian_heatmaps, normalized_to_pixels

LOSS_KINDS = ("mse", "smooth_l1", "wing")


class MaskedKeypointLoss(nn.Module):
    """Mean of a per-coordinate loss over the coordinates whose target is not NaN.

    Parameters
    ----------
    kind : {"mse", "smooth_l1", "wing"}, default="mse"
        ``"wing"`` is the Wing loss (Feng et al. 2018) with ``w=10, epsilon=2``, applied
        to coordinates rescaled from [-1, 1] to a 100-unit-wide image; ``"smooth_l1"``
        uses ``beta=0.02`` (1 % of the image width).

    Notes
    -----
    Shapes: ``y_pred``, ``y_true``: ``(B, 2K)``; returns a scalar. Rows whose targets are all NaN
    contribute nothing; a batch without any target gives 0 (with a gradient).
    """

    def __init__(self, kind: str = "mse"):
        super().__init__()
        if kind not in LOSS_KINDS:
            raise ValueError(f"loss must be one of {LOSS_KINDS}, got {kind!r}")
        self.kind = kind

    def forward(self, y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        mask = ~torch.isnan(y_true)
        target = torch.where(mask, y_true, y_pred.detach())
        pred = y_pred.float()
        if self.kind == "mse":
            per = (pred - target) ** 2
        elif self.kind == "smooth_l1":
            per = F.smooth_l1_loss(pred, target, reduction="none", beta=0.02)
        else:
            w, eps = 10.0, 2.0
            c = w - w * math.log(1 + w / eps)
            err = (pred - target).abs() * 50.0
            per = torch.where(err < w, w * torch.log1p(err / eps), err - c)
        return (per * mask).sum() / mask.sum().clamp_min(1)


class HeatmapLoss(nn.Module):
    """DSNT loss: a coordinate loss on the heatmaps' soft-argmax plus a Jensen-Shannon
    term pulling each heatmap towards a Gaussian (Nibali et al. 2018).

    The network's outputs are logits; ``softmax`` over each map gives a probability
    heatmap whose expectation is the predicted point (:func:`~.heatmaps.soft_argmax`).
    The coordinate term is :class:`MaskedKeypointLoss`; the regulariser is the mean
    Jensen-Shannon divergence between each present point's heatmap and a normalised
    Gaussian of standard deviation ``sigma`` (heatmap pixels) at the target.

    A plain mean squared error against unnormalised Gaussians, the textbook heatmap
    loss, collapses to near-zero maps when the foreground is a small share of the
    pixels (the measurement is in the documentation's estimators page); DSNT trains from
    the first epoch.

    Parameters
    ----------
    kind : {"mse", "smooth_l1", "wing"}, default="mse"
        The coordinate loss.
    sigma : float, default=2.0
        Standard deviation of the target Gaussians, in heatmap pixels.
    js_weight : float, default=1.0
        Weight of the Jensen-Shannon term (0: coordinates alone).

    Notes
    -----
    Shapes: ``logits``: ``(B, K, H, W)``; ``y_true``: ``(B, 2K)`` normalised to ``[-1, 1]`` with
    the ``align_corners=False`` convention, NaN = missing. Returns a scalar.
    """

    def __init__(self, kind: str = "mse", sigma: float = 2.0, js_weight: float = 1.0):
        super().__init__()
        self.coordinates = MaskedKeypointLoss(kind)
        self.sigma = float(sigma)
        self.js_weight = float(js_weight)

    def forward(self, logits: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        b, k, h, w = logits.shape
        log_p = torch.log_softmax(logits.float().flatten(2), dim=-1)  # (B, K, HW)
        p = log_p.exp()
        loss = self.coordinates(expected_position(p, (h, w)).reshape(b, -1), y_true)
        if self.js_weight == 0:
            return loss
        points = normalized_to_pixels(y_true.view(b, k, 2), (h, w))
        target = gaussian_heatmaps(points, (h, w), self.sigma).flatten(2)
        target = target / target.sum(dim=-1, keepdim=True).clamp_min(1e-12)
        log_m = torch.log((0.5 * (p + target)).clamp_min(1e-12))
        log_t = torch.log(target.clamp_min(1e-12))
        js = 0.5 * (p * (log_p - log_m)).sum(-1) + 0.5 * (target * (log_t - log_m)).sum(-1)
        visible = ~torch.isnan(points).any(dim=-1)
        return loss + self.js_weight * (js * visible).sum() / visible.sum().clamp_min(1)
