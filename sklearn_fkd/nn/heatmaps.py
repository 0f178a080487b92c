"""Gaussian heatmap targets and their sub-pixel decoding (batched, on any device)."""

from __future__ import annotations

import torch


def gaussian_heatmaps(points: torch.Tensor, size: tuple[int, int], sigma: float) -> torch.Tensor:
    """One unnormalised Gaussian (peak 1) per point, centred with sub-pixel accuracy.

    Parameters
    ----------
    points : Tensor of shape (B, K, 2)
        ``(x, y)`` in heatmap pixels (pixel centres at integers); NaN = missing, which
        gives an all-zero map.
    size : (int, int)
        ``(H, W)`` of the maps.
    sigma : float
        Standard deviation in heatmap pixels.

    Returns
    -------
    Tensor of shape (B, K, H, W), the dtype of ``points``
    """
    gy, gx = gaussian_factors(points, size, sigma)
    return gy.unsqueeze(-1) * gx.unsqueeze(-2)


#: the smallest value of a Gaussian factor (peak 1) that :func:`gaussian_factors` keeps
GAUSSIAN_FLOOR = 1e-15


def gaussian_factors(
    points: torch.Tensor, size: tuple[int, int], sigma: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The two 1-D factors of :func:`gaussian_heatmaps`: the map is their outer product.

    Returns
    -------
    gy : Tensor of shape (B, K, H)
    gx : Tensor of shape (B, K, W)
        Peak 1 each; all zero for a missing (NaN) coordinate. Values below
        ``GAUSSIAN_FLOOR`` are exact zeros, so that no product of the two is a subnormal
        float (see :func:`spatial_softmax`).
    """
    h, w = size
    xs = torch.arange(w, device=points.device, dtype=points.dtype)
    ys = torch.arange(h, device=points.device, dtype=points.dtype)
    px = torch.nan_to_num(points[..., 0:1], nan=-1e4)  # far away -> exp(...) == 0
    py = torch.nan_to_num(points[..., 1:2], nan=-1e4)
    gx = torch.exp(-((xs - px) ** 2) / (2 * sigma**2))  # (B, K, W)
    gy = torch.exp(-((ys - py) ** 2) / (2 * sigma**2))  # (B, K, H)
    return gy.masked_fill(gy < GAUSSIAN_FLOOR, 0.0), gx.masked_fill(gx < GAUSSIAN_FLOOR, 0.0)


def decode_heatmaps(heatmaps: torch.Tensor) -> torch.Tensor:
    """Peak of each heatmap with sub-pixel refinement.

    The integer argmax is refined by fitting a parabola to the logarithm of the peak and
    its two neighbours along each axis, which recovers the exact centre of a Gaussian.
    The shift is clamped to half a pixel.

    Parameters
    ----------
    heatmaps : Tensor of shape (B, K, H, W)

    Returns
    -------
    Tensor of shape (B, K, 2)
        ``(x, y)`` in heatmap pixels.
    """
    h, w = heatmaps.shape[-2:]
    hm = heatmaps.float()
    flat_idx = hm.flatten(2).argmax(dim=2)  # (B, K)
    iy, ix = flat_idx // w, flat_idx % w
    logs = torch.log(hm.clamp_min(1e-10))

    def offset(axis_idx, axis_len, take):
        prev_i = (axis_idx - 1).clamp(0, axis_len - 1)
        next_i = (axis_idx + 1).clamp(0, axis_len - 1)
        v0, vm, vp = take(axis_idx), take(prev_i), take(next_i)
        denom = vm - 2 * v0 + vp
        shift = torch.where(
            denom < 0, 0.5 * (vm - vp) / denom.clamp(max=-1e-12), torch.zeros_like(v0)
        )
        inside = (axis_idx > 0) & (axis_idx < axis_len - 1)
        return torch.where(inside, shift.clamp(-0.5, 0.5), torch.zeros_like(shift))

    def at(yy, xx):
        return logs.flatten(2).gather(2, (yy * w + xx).unsqueeze(-1)).squeeze(-1)

    dx = offset(ix, w, lambda xx: at(iy, xx))
    dy = offset(iy, h, lambda yy: at(yy, ix))
    return torch.stack([ix.float() + dx, iy.float() + dy], dim=-1)


def normalized_to_pixels(u: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(..., 2)`` points in ``[-1, 1]`` (``align_corners=False``) -> pixels of an
    ``(H, W)`` map: ``x = ((u + 1) W - 1) / 2``."""
    h, w = size
    scale = torch.tensor([w, h], device=u.device, dtype=u.dtype)
    return ((u + 1) * scale - 1) / 2


def pixels_to_normalized(xy: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`normalized_to_pixels`."""
    h, w = size
    scale = torch.tensor([w, h], device=xy.device, dtype=xy.dtype)
    return (2 * xy + 1) / scale - 1


def soft_argmax(logits: torch.Tensor) -> torch.Tensor:
    """Expected position under a spatial softmax (integral regression, DSNT).

    Differentiable; coordinates are normalised to ``[-1, 1]`` with cell ``i`` of ``n``
    centred at ``(2i + 1) / n - 1`` (the ``align_corners=False`` convention), as in
    Nibali et al. 2018, "Numerical Coordinate Regression with Convolutional Neural
    Networks".

    Parameters
    ----------
    logits : Tensor of shape (B, K, h, w)

    Returns
    -------
    Tensor of shape (B, K, 2), ``(x, y)``
    """
    prob, _ = spatial_softmax(logits.float().flatten(2))
    return expected_position(prob, tuple(logits.shape[-2:]))


#: log-probabilities below this are flushed to probability 0 by :func:`spatial_softmax`
#: (exp(-50) = 2e-22: a map sums to 1, and float32 resolves 6e-8 of that)
LOG_PROB_FLOOR = -50.0


def spatial_softmax(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax over the last axis, and its logarithm, without subnormal floats.

    A map whose logits span more than about 87 (a sharp peak, a narrow mean-shape
    prior) has probabilities below float32's smallest normal number, 1.2e-38. CPUs
    compute with such subnormal numbers many times slower than with normal ones (an
    x86 CPU takes a microcode assist on each), and they spread to the gradients and
    through the layers below: the ``ibug68`` recipe's training step took 10-30 %
    longer with them on an Intel Xeon (``docs/design_notes.rst``). Probabilities below
    ``exp(LOG_PROB_FLOOR)`` are therefore exact zeros here, which changes no sum or
    expectation at float32 precision, and the gradient is written out so that it
    stays free of them too.

    Parameters
    ----------
    logits : Tensor of shape (..., N), float

    Returns
    -------
    prob : Tensor of shape (..., N)
        Sums to 1 over the last axis (to float32 precision); differentiable.
    log_prob : Tensor of shape (..., N)
        ``log_softmax(logits)``; differentiable as well.
    """
    if not (torch.is_grad_enabled() and logits.requires_grad):
        return _flushed_softmax(logits)  # out of place: what an ONNX export can trace
    return _SpatialSoftmax.apply(logits)


def _flushed_softmax(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`spatial_softmax`'s values: ``(prob, log_prob)``."""
    log_prob = torch.log_softmax(logits, dim=-1)
    prob = log_prob.clamp_min(LOG_PROB_FLOOR).exp()
    return torch.where(log_prob < LOG_PROB_FLOOR, torch.zeros_like(prob), prob), log_prob


class _SpatialSoftmax(torch.autograd.Function):
    """:func:`spatial_softmax`; the gradient of ``L(p, log p)`` in the logits is
    ``g - p * sum(g)`` with ``g = p * dL/dp + dL/dlog p``."""

    @staticmethod
    def forward(ctx, logits):
        log_prob = torch.log_softmax(logits, dim=-1)
        tiny = log_prob < LOG_PROB_FLOOR
        prob = log_prob.clamp_min(LOG_PROB_FLOOR).exp_().masked_fill_(tiny, 0.0)
        ctx.save_for_backward(prob)
        # an output that gets no gradient (the loss uses log p without one) comes as
        # None instead of a full-size tensor of zeros to add
        ctx.set_materialize_grads(False)
        return prob, log_prob

    @staticmethod
    def backward(ctx, grad_prob, grad_log_prob):
        (prob,) = ctx.saved_tensors
        grad = None if grad_prob is None else prob * grad_prob
        if grad_log_prob is not None:
            grad = grad_log_prob if grad is None else grad + grad_log_prob
        if grad is None:
            return None
        return grad - prob * grad.sum(dim=-1, keepdim=True)


def expected_position(prob: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """:func:`soft_argmax` of already flattened probabilities ``(B, K, h*w)``."""
    h, w = size
    prob = prob.view(*prob.shape[:-1], h, w)
    xs = (2 * torch.arange(w, device=prob.device, dtype=prob.dtype) + 1) / w - 1
    ys = (2 * torch.arange(h, device=prob.device, dtype=prob.dtype) + 1) / h - 1
    x = (prob.sum(dim=-2) * xs).sum(dim=-1)
    y = (prob.sum(dim=-1) * ys).sum(dim=-1)
    return torch.stack([x, y], dim=-1)
