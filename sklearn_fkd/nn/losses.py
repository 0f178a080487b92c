"""Losses that train around missing keypoints (NaN targets)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

LOSS_KINDS = ("mse", "smooth_l1", "wing")


class MaskedKeypointLoss(nn.Module):
    """Mean of a per-coordinate loss over the coordinates whose target is not NaN.

    Parameters
    ----------
    kind : {"mse", "smooth_l1", "wing"}, default="mse"
        ``"wing"`` is the Wing loss (Feng et al. 2018) with ``w=10, epsilon=2``, applied
        to coordinates rescaled from [-1, 1] to a 100-unit-wide image; ``"smooth_l1"``
        uses ``beta=0.02`` (1 % of the image width).

    Shapes
    ------
    ``y_pred``, ``y_true``: ``(B, 2K)``; returns a scalar. Rows whose targets are all NaN
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


class MaskedHeatmapLoss(nn.Module):
    """Mean squared error between heatmaps, over the keypoints that are present.

    Shapes
    ------
    ``pred``, ``target``: ``(B, K, H, W)``; ``visible``: ``(B, K)`` bool. Returns a scalar.
    """

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, visible: torch.Tensor
    ) -> torch.Tensor:
        per_map = ((pred.float() - target) ** 2).mean(dim=(2, 3))
        return (per_map * visible).sum() / visible.sum().clamp_min(1)
