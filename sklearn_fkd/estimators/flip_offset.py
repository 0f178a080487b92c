"""The prediction offset of a network trained on flipped images (``correct_flip_offset``).

A network trained on mirror images cannot learn an offset between where the annotations
put the points and their mirror-symmetric position: a flipped image asks for the
opposite offset. So at the end of fit the median offset of the predictions from the
targets on (up to :data:`OFFSET_SAMPLES`) training images is measured, kept in the
network's ``fit_state`` and subtracted at predict. docs/estimators.rst says how large
it is on the shared data.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback
from skorch.utils import to_numpy

from ..keypoints import to_points
from .dataset import KeypointDataset

__all__ = ["OFFSET_SAMPLES", "FlipOffset", "PredictionOffset", "measure_prediction_offset"]

#: training images on which fit measures the prediction offset
OFFSET_SAMPLES = 1000


def measure_prediction_offset(net, dataset: KeypointDataset) -> np.ndarray:
    """The median over up to :data:`OFFSET_SAMPLES` images of ``dataset`` (drawn by the
    estimator's ``random_state``) of each image's mean offset of the predictions from
    its targets: ``(x, y)`` in pixels, zeros when no image has a point."""
    rng = np.random.default_rng(net.random_state)
    n = len(dataset)
    rows = torch.from_numpy(np.sort(rng.choice(n, min(n, OFFSET_SAMPLES), replace=False)))
    sample = KeypointDataset(dataset.X[rows])
    # in PyTorch: an export for one measurement at the end of fit costs more than it saves
    outputs = net.network_outputs(sample, backend="torch")
    predicted = np.concatenate([to_numpy(out) for out in outputs])
    residual = to_points(predicted - dataset.y[rows].double().numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # images without points
        offset = np.nanmedian(np.nanmean(residual, axis=1), axis=0)
    h, w = net.image_size_
    offset = offset * np.array([w / 2.0, h / 2.0])  # [-1, 1] -> pixels
    return offset if np.isfinite(offset).all() else np.zeros(2)


class FlipOffset(Callback):
    """At the end of training, set the estimator's prediction offset: measured on the
    training images when ``correct_flip_offset`` and the training flipped them, else
    zero. The estimators run it after every other callback (a callback that restores
    the best weights restores them first)."""

    def on_train_end(self, net, X=None, y=None, **kwargs):
        measure = (
            net.correct_flip_offset
            and net.trained_on_flips()
            and len(net.history)
            and isinstance(X, KeypointDataset)
        )
        net.set_prediction_offset(measure_prediction_offset(net, X) if measure else np.zeros(2))


class PredictionOffset:
    """Mixin of :class:`~sklearn_fkd.estimators.KeypointNet`: its prediction offset."""

    def fit_prediction_offset(self, X, y):
        """Measure ``prediction_offset_`` on images and their points, as fit does at its
        end (``correct_flip_offset``; see :mod:`~sklearn_fkd.estimators.flip_offset`):
        for a model fitted before it existed, or on other images of the same kind.

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or (n, H, W, C), or a list of images
            Images of the fitted size (up to 1,000 of them are used, drawn by
            ``random_state``).
        y : array-like of shape (n, 2K) or (n, K, 2)
            Their keypoints in pixels; NaN = missing.

        Returns
        -------
        self
        """
        check_is_fitted(self, "module_")
        dataset = self._training_data(X, y, reset=False)
        self.set_prediction_offset(measure_prediction_offset(self, dataset))
        return self

    def set_prediction_offset(self, offset) -> None:
        """Set ``prediction_offset_`` (``(x, y)`` pixels), also in the network's
        ``fit_state`` (so saved weights keep it)."""
        self.prediction_offset_ = np.asarray(offset, dtype=np.float64).reshape(2)
        self.module_.fit_state.prediction_offset.copy_(torch.from_numpy(self.prediction_offset_))
