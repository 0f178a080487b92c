"""Train-time augmentation, batched on the training device.

One random affine matrix per sample moves the pixels (``affine_grid``/``grid_sample``)
and the keypoints together; a horizontal flip also swaps left/right keypoints by the
schema's flip pairs. The estimators apply it to training batches only, freshly each
epoch, never to validation or prediction.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch.nn import functional as F

from .utils.validation import Interval, Options, validate_parameters

__all__ = ["Augment"]


class Augment(BaseEstimator):
    """Random rotation, shift, scale, flip, brightness/contrast, blur and occlusion of a
    batch.

    A scikit-learn style object: its parameters are tunable through an estimator, e.g.
    ``GridSearchCV(est, {"augment__rotation": [0, 15]})``.

    Parameters
    ----------
    rotation : float, default=10
        Maximum rotation in degrees (uniform in ``[-rotation, rotation]``).
    shift : float, default=0.05
        Maximum shift as a fraction of the image width/height.
    scale : float, default=0.05
        Maximum relative zoom (uniform in ``[1 - scale, 1 + scale]``).
    flip : bool, default=True
        Mirror half the samples horizontally, swapping left/right keypoints.
    brightness : float, default=0.1
        Maximum additive brightness change, in units of the [0, 1] intensity range.
    contrast : float, default=0.1
        Maximum relative contrast change around each image's mean.
    blur : float, default=0.0
        Maximum Gaussian blur sigma in pixels (applied to half the samples).
    occlusion : float, default=0.0
        Share of the samples on which a random rectangle (each side 10-40 % of the
        image's) is covered with uniform noise, as hands, hair and glasses cover faces
        in the wild (random erasing, Zhong et al. 2020). The points under it keep their
        targets: the model learns to place occluded points from the rest of the face.
    padding_mode : {"border", "zeros", "reflection"}, default="border"
        How pixels from outside the image are filled.

    Notes
    -----
    Keypoints pushed outside the image become NaN (missing, so the masked loss skips
    them); they are never clamped to the border.
    """

    #: the rules of the parameters, checked before training (:meth:`validate`)
    _parameter_constraints: ClassVar[dict] = {
        "rotation": Interval(0),
        "shift": Interval(0),
        "scale": Interval(0, 1, high_inclusive=False),
        "flip": Options(False, True),
        "brightness": Interval(0),
        "contrast": Interval(0),
        "blur": Interval(0),
        "occlusion": Interval(0, 1),
        "padding_mode": Options("border", "zeros", "reflection"),
    }

    def __init__(
        self,
        rotation: float = 10.0,
        shift: float = 0.05,
        scale: float = 0.05,
        flip: bool = True,
        brightness: float = 0.1,
        contrast: float = 0.1,
        blur: float = 0.0,
        occlusion: float = 0.0,
        padding_mode: str = "border",
    ):
        self.rotation = rotation
        self.shift = shift
        self.scale = scale
        self.flip = flip
        self.brightness = brightness
        self.contrast = contrast
        self.blur = blur
        self.occlusion = occlusion
        self.padding_mode = padding_mode

    def validate(self) -> None:
        """Raise ValueError on a parameter outside its range (:attr:`_parameter_constraints`)."""
        validate_parameters(self, self._parameter_constraints, prefix="Augment.")

    def random_affine(
        self, n: int, height: int, width: int, device, dtype=torch.float32, flip: bool = True
    ):
        """Per-sample forward maps in normalised coordinates, and which samples flip.

        ``flip=False`` disables flipping for this call (no flip pairs known).

        Returns
        -------
        matrix : Tensor (n, 2, 2), offset : Tensor (n, 2), flipped : Tensor (n,) bool
            A point ``u`` in ``[-1, 1]`` coordinates (``align_corners=False``) moves to
            ``matrix @ u + offset``.
        """

        def uniform(limit):
            return (torch.rand(n, device=device, dtype=dtype) * 2 - 1) * limit

        angle = uniform(math.radians(self.rotation))
        zoom = 1 + uniform(self.scale)
        flipped = (
            (torch.rand(n, device=device) < 0.5)
            if self.flip and flip
            else torch.zeros(n, dtype=torch.bool, device=device)
        )
        cos, sin = torch.cos(angle), torch.sin(angle)
        rot = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
        half = torch.tensor([width / 2, height / 2], device=device, dtype=dtype)
        mirror = torch.ones(n, 2, device=device, dtype=dtype)
        mirror[:, 0] = torch.where(flipped, -1.0, 1.0)
        # u -> D^-1 * zoom * R * D * F u, with D = diag(W/2, H/2) (pixel units, so a
        # rotation stays a rotation on non-square images)
        matrix = (zoom[:, None, None] * rot) * half[None, None, :] / half[None, :, None]
        matrix = matrix * mirror[:, None, :]
        offset = torch.stack([uniform(2 * self.shift), uniform(2 * self.shift)], -1)
        return matrix, offset, flipped

    def __call__(self, images: torch.Tensor, points: torch.Tensor, flip_permutation=None):
        """Augment a batch.

        Parameters
        ----------
        images : Tensor of shape (B, C, H, W), float
        points : Tensor of shape (B, K, 2)
            ``[-1, 1]`` coordinates (``align_corners=False`` convention), NaN = missing.
        flip_permutation : array-like of shape (K,), optional
            The schema's :attr:`~sklearn_fkd.keypoints.KeypointSchema.flip_permutation`;
            without it, flipping is skipped.

        Returns
        -------
        images, points : the augmented batch (new tensors)

        The parameters are not checked here, for every batch: :meth:`validate` checks
        them (the estimators call it once, at fit).
        """
        n, _, h, w = images.shape
        x = images
        geometric = (
            self.rotation
            or self.shift
            or self.scale
            or (self.flip and flip_permutation is not None)
        )
        if geometric:
            matrix, offset, flipped = self.random_affine(
                n, h, w, images.device, flip=flip_permutation is not None
            )
            inverse = torch.linalg.inv(matrix)
            theta = torch.cat([inverse, -(inverse @ offset.unsqueeze(-1))], dim=2)
            grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
            x = F.grid_sample(
                x, grid, mode="bilinear", padding_mode=self.padding_mode, align_corners=False
            )
            points = (matrix.to(points.dtype) @ points.transpose(1, 2)).transpose(1, 2)
            points = points + offset.to(points.dtype).unsqueeze(1)
            if flipped.any():
                perm = torch.as_tensor(np.asarray(flip_permutation), device=points.device)
                points = torch.where(flipped[:, None, None], points[:, perm], points)
            outside = (points.abs() > 1).any(dim=-1, keepdim=True)
            points = points.masked_fill(outside, float("nan"))
        if self.brightness or self.contrast:
            shape = (n, 1, 1, 1)
            gain = 1 + (torch.rand(shape, device=x.device, dtype=x.dtype) * 2 - 1) * self.contrast
            bias = (torch.rand(shape, device=x.device, dtype=x.dtype) * 2 - 1) * self.brightness
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * gain + mean + bias
        if self.blur:
            x = _random_blur(x, self.blur)
        if self.occlusion:
            x = _random_occlusion(x, self.occlusion)
        return x, points


def _random_occlusion(x: torch.Tensor, share: float) -> torch.Tensor:
    """Cover a random rectangle (sides 10-40 % of the image's) with uniform noise in the
    batch's intensity range, on ``share`` of the samples; one masked write."""
    n, _, h, w = x.shape
    dev = x.device
    size = torch.rand(n, 2, device=dev) * 0.3 + 0.1  # (height, width) shares
    start = torch.rand(n, 2, device=dev) * (1 - size)
    ys = (torch.arange(h, device=dev) + 0.5) / h
    xs = (torch.arange(w, device=dev) + 0.5) / w
    inside_y = (ys >= start[:, :1]) & (ys < start[:, :1] + size[:, :1])  # (n, h)
    inside_x = (xs >= start[:, 1:]) & (xs < start[:, 1:] + size[:, 1:])  # (n, w)
    chosen = torch.rand(n, device=dev) < share
    mask = (inside_y[:, :, None] & inside_x[:, None, :] & chosen[:, None, None])[:, None]
    lo, hi = x.amin(), x.amax()
    noise = torch.rand_like(x) * (hi - lo) + lo
    return torch.where(mask, noise, x)


def _random_blur(x: torch.Tensor, max_sigma: float) -> torch.Tensor:
    """Blur half the samples with a Gaussian of random sigma, one grouped convolution."""
    n, c, h, w = x.shape
    sigma = torch.rand(n, device=x.device, dtype=x.dtype) * max_sigma
    sigma = torch.where(torch.rand(n, device=x.device) < 0.5, sigma, torch.zeros_like(sigma))
    radius = max(1, math.ceil(3 * max_sigma))
    taps = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-(taps**2) / (2 * sigma.clamp_min(1e-3)[:, None] ** 2))
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # sigma ~0 -> a delta
    kernel = kernel.repeat_interleave(c, dim=0)  # (n*c, taps)
    flat = x.reshape(1, n * c, h, w)
    flat = F.pad(flat, (radius, radius, 0, 0), mode="replicate")
    flat = F.conv2d(flat, kernel[:, None, None, :], groups=n * c)
    flat = F.pad(flat, (0, 0, radius, radius), mode="replicate")
    flat = F.conv2d(flat, kernel[:, None, :, None], groups=n * c)
    return flat.reshape(n, c, h, w)
