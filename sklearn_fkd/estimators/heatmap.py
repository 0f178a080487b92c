"""Heatmap regression with a U-Net and sub-pixel decoding."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.utils import to_numpy

from ..nn.heatmaps import decode_heatmaps, pixels_to_normalized, soft_argmax
from ..nn.losses import LOSS_KINDS, HeatmapLoss
from ..nn.unet import UNet
from ._base import KeypointDataset, KeypointNet
from .regression import COMMON_PARAMETERS

__all__ = ["HeatmapKeypointEstimator"]


DECODERS = ("softargmax", "argmax")


class HeatmapKeypointEstimator(KeypointNet):
    """Predict one heatmap per keypoint with a U-Net; decode it with sub-pixel accuracy.

    The U-Net outputs one logit map per point at the input resolution; a spatial softmax
    turns each into a probability heatmap. Training follows DSNT (Nibali et al. 2018):
    the coordinate loss ``loss`` on each heatmap's expected position, plus ``js_weight``
    times the Jensen-Shannon divergence to a Gaussian of standard deviation ``sigma``
    centred on the target, generated on the fly on the training device from the
    (augmented) keypoints (:class:`~sklearn_fkd.nn.losses.HeatmapLoss`). A missing
    keypoint has no target and is left out of both terms.

    Parameters
    ----------
    depth : int, default=3
        Down/up-sampling steps of the U-Net.
    base_channels : int, default=16
        Width of the first level; doubled at each step down.
    sigma : float, default=2.0
        Standard deviation of the target Gaussians, in input pixels.
    js_weight : float, default=1.0
        Weight of the heatmap (Jensen-Shannon) term; 0 trains on coordinates alone.
    decode : {"softargmax", "argmax"}, default="softargmax"
        How predictions are read from the heatmaps: their expectation (what training
        optimises), or the integer argmax refined by a parabola through the
        log-heatmap (:func:`~sklearn_fkd.nn.decode_heatmaps`).
    schema : KeypointSchema or None, default=None
        Schema of ``y``; inferred from the point count when None.
    loss : {"mse", "smooth_l1", "wing"}, default="mse"
        The coordinate term of the loss.
    """

    def __init__(
        self,
        *,
        depth=3,
        base_channels=16,
        sigma=2.0,
        js_weight=1.0,
        decode="softargmax",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.depth = depth
        self.base_channels = base_channels
        self.sigma = sigma
        self.js_weight = js_weight
        self.decode = decode

    def _build_module(self, n_keypoints, in_channels, **kwargs):
        params = dict(depth=self.depth, base_channels=self.base_channels)
        params.update(kwargs)
        return UNet(n_keypoints, in_channels=in_channels, **params)

    def initialize_criterion(self):
        if self.loss not in LOSS_KINDS:
            raise ValueError(f"loss must be one of {LOSS_KINDS}, got {self.loss!r}")
        if not self.sigma > 0:
            raise ValueError(f"sigma must be positive, got {self.sigma}")
        if not self.js_weight >= 0:
            raise ValueError(f"js_weight must be >= 0, got {self.js_weight}")
        if self.decode not in DECODERS:
            raise ValueError(f"decode must be one of {DECODERS}, got {self.decode!r}")
        self.criterion_ = HeatmapLoss(self.loss, self.sigma, self.js_weight).to(self.device_)
        return self

    def _decode(self, outputs: torch.Tensor) -> torch.Tensor:
        if self.decode == "softargmax":
            return soft_argmax(outputs).reshape(len(outputs), -1)
        xy = decode_heatmaps(outputs)  # (B, K, 2) heatmap pixels; the softmax is monotone
        return pixels_to_normalized(xy, tuple(outputs.shape[-2:])).reshape(len(xy), -1)

    def predict_heatmaps(self, X) -> np.ndarray:
        """The predicted probability heatmaps (each sums to 1), for plotting.

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or (n, H, W, C)

        Returns
        -------
        ndarray of shape (n, K, H, W), float32
        """
        check_is_fitted(self, "module_")
        dataset = KeypointDataset(self._check_images(X))
        return np.concatenate(
            [
                to_numpy(torch.softmax(out.float().flatten(2), dim=-1).view(out.shape))
                for out in self.forward_iter(dataset, training=False)
            ],
            axis=0,
        )


HeatmapKeypointEstimator.__doc__ += COMMON_PARAMETERS
