"""Losses that train around missing keypoints (NaN targets)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .heatmaps import expected_position, gaussian_factors, normalized_to_pixels, spatial_softmax

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
        p, log_p = spatial_softmax(logits.float().flatten(2))  # (B, K, HW)
        loss = self.coordinates(expected_position(p, (h, w)).reshape(b, -1), y_true)
        if self.js_weight == 0:
            return loss
        points = normalized_to_pixels(y_true.view(b, k, 2), (h, w))
        js = jensen_shannon_to_gaussians(p, log_p, points, (h, w), self.sigma)
        visible = ~torch.isnan(points).any(dim=-1)
        return loss + self.js_weight * (js * visible).sum() / visible.sum().clamp_min(1)


def jensen_shannon_to_gaussians(
    p: torch.Tensor, log_p: torch.Tensor, points: torch.Tensor, size: tuple[int, int], sigma: float
) -> torch.Tensor:
    """Jensen-Shannon divergence between each heatmap and a normalised Gaussian.

    Parameters
    ----------
    p, log_p : Tensor of shape (B, K, H*W)
        The probability heatmaps (each sums to 1) and their logarithm; the divergence
        is differentiable in ``p`` (``log_p`` is taken as ``log(p)``, no gradient).
    points : Tensor of shape (B, K, 2)
        The Gaussians' centres in heatmap pixels; NaN gives an all-zero target.
    size : (int, int)
        ``(H, W)``.
    sigma : float
        Standard deviation in heatmap pixels.

    Returns
    -------
    Tensor of shape (B, K)
        ``JS = KL(p || m) / 2 + KL(t || m) / 2`` with ``m = (p + t) / 2``.
    """
    gy, gx = gaussian_factors(points, size, sigma)
    # the target's sum and its entropy term are separable: no full-size pass for them
    gy = gy / gy.sum(dim=-1, keepdim=True).clamp_min(1e-12)
    gx = gx / gx.sum(dim=-1, keepdim=True).clamp_min(1e-12)
    t_log_t = torch.xlogy(gy, gy).sum(-1) + torch.xlogy(gx, gx).sum(-1)
    return _JensenShannon.apply(p, log_p.detach(), gy, gx, t_log_t)


class _JensenShannon(torch.autograd.Function):
    """``JS = sum(p log p)/2 + sum(t log t)/2 - sum(m log m)`` with ``t = gy (x) gx``;
    its gradient in ``p`` is ``(log p - log m) / 2``, saved in the forward pass.

    Written out because autograd through the textbook form keeps about ten full-size
    intermediates per heatmap, which made the loss a large share of a training step
    (the measurement is in ``CHANGES.md``)."""

    @staticmethod
    def forward(ctx, p, log_p, gy, gx, t_log_t):
        b, k, n = p.shape
        h, w = gy.shape[-1], gx.shape[-1]
        # one fused pass each: m = p/2 + (gy gx^T)/2, and the sums of products as
        # matmuls (in the inputs' precision, whatever autocast the caller runs under)
        with torch.autocast(p.device.type, enabled=False):
            m = torch.baddbmm(
                p.reshape(b * k, h, w), gy.reshape(b * k, h, 1), gx.reshape(b * k, 1, w),
                beta=0.5, alpha=0.5,
            ).view(b, k, n)  # fmt: skip
            log_m = m.clamp_min(1e-12).log_()
            js = 0.5 * (_dot(p, log_p) + t_log_t) - _dot(m, log_m)
        ctx.save_for_backward(log_m.sub_(log_p).mul_(-0.5))  # (log p - log m) / 2
        return js

    @staticmethod
    def backward(ctx, grad_js):
        (half_log_ratio,) = ctx.saved_tensors
        return grad_js.unsqueeze(-1) * half_log_ratio, None, None, None, None


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(a * b).sum(-1)`` of ``(B, K, N)`` tensors in one batched matrix product."""
    bk, n = a.shape[0] * a.shape[1], a.shape[-1]
    return torch.bmm(a.reshape(bk, 1, n), b.reshape(bk, n, 1)).view(a.shape[:-1])
