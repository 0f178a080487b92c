"""Heatmap regression with a U-Net and sub-pixel decoding."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.utils import to_numpy

from ..nn.heatmaps import decode_heatmaps, gaussian_heatmaps
from ..nn.losses import MaskedHeatmapLoss
from ..nn.unet import UNet
from ._base import KeypointDataset, KeypointNet
from .regression import COMMON_PARAMETERS

__all__ = ["HeatmapKeypointEstimator"]


class HeatmapKeypointEstimator(KeypointNet):
    """Predict one heatmap per keypoint with a U-Net; decode peaks with sub-pixel accuracy.

    Targets are Gaussians of standard deviation ``sigma`` (input pixels) generated on
    the fly on the training device from the (augmented) keypoints; a missing keypoint
    has no target and is left out of the loss. Peaks are decoded by argmax refined with
    a parabola fit on the log-heatmap (:func:`~sklearn_fkd.nn.decode_heatmaps`).

    Parameters
    ----------
    depth : int, default=3
        Down/up-sampling steps of the U-Net.
    base_channels : int, default=16
        Width of the first level; doubled at each step down.
    sigma : float, default=2.0
        Standard deviation of the target Gaussians, in input pixels.
    schema : KeypointSchema or None, default=None
        Schema of ``y``; inferred from the point count when None.
    loss : {"mse"}, default="mse"
        Mean squared error between heatmaps (the only choice).
    """

    def __init__(self, *, depth=3, base_channels=16, sigma=2.0, **kwargs):
        super().__init__(**kwargs)
        self.depth = depth
        self.base_channels = base_channels
        self.sigma = sigma

    def _build_module(self, n_keypoints, in_channels, **kwargs):
        params = dict(depth=self.depth, base_channels=self.base_channels)
        params.update(kwargs)
        return UNet(n_keypoints, in_channels=in_channels, **params)

    def initialize_criterion(self):
        if self.loss != "mse":
            raise ValueError(
                f"HeatmapKeypointEstimator supports loss='mse' only, got {self.loss!r}"
            )
        if not self.sigma > 0:
            raise ValueError(f"sigma must be positive, got {self.sigma}")
        self.criterion_ = MaskedHeatmapLoss().to(self.device_)
        return self

    def _heatmap_points(self, u: torch.Tensor) -> torch.Tensor:
        """Normalised ``(B, 2K)`` -> heatmap pixels ``(B, K, 2)`` (maps are input-sized)."""
        h, w = self.image_size_
        scale = torch.tensor([w, h], device=u.device, dtype=u.dtype)
        return ((u.view(len(u), -1, 2) + 1) * scale - 1) / 2

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = y_true.to(self.device_)
        points = self._heatmap_points(y_true)
        target = gaussian_heatmaps(points, tuple(y_pred.shape[-2:]), float(self.sigma))
        visible = ~torch.isnan(points).any(dim=-1)
        return self.criterion_(y_pred, target, visible)

    def _decode(self, outputs: torch.Tensor) -> torch.Tensor:
        h, w = self.image_size_
        xy = decode_heatmaps(outputs)  # (B, K, 2) heatmap pixels
        scale = torch.tensor([w, h], device=xy.device, dtype=xy.dtype)
        return ((2 * xy + 1) / scale - 1).reshape(len(xy), -1)

    def predict_heatmaps(self, X) -> np.ndarray:
        """The predicted heatmaps, for plotting.

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
            [to_numpy(out.float()) for out in self.forward_iter(dataset, training=False)], axis=0
        )


HeatmapKeypointEstimator.__doc__ += COMMON_PARAMETERS
