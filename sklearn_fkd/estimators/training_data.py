"""The data an estimator's network sees: ``X`` and ``y`` checked and turned into the
in-memory :class:`~sklearn_fkd.estimators.KeypointDataset` (with what fit learns from
them: schema, sizes, input statistics, mean shape), images checked at predict, and the
batch iterators (ours, or torch's ``DataLoader`` when its arguments are given)."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ..keypoints import KeypointSchema, infer_schema, to_points
from ..utils.validation import check_consistent_length
from .dataset import BatchIterator, KeypointDataset, channel_stats, images_to_tensor

__all__ = ["BATCH_ITERATOR_ARGS", "DATALOADER_ARGS", "FAR_OUTSIDE", "TrainingData"]

#: arguments of the in-memory BatchIterator, and those only torch's DataLoader takes
BATCH_ITERATOR_ARGS = frozenset({"batch_size", "shuffle", "drop_singleton", "shard"})
DATALOADER_ARGS = frozenset(
    {
        "num_workers",
        "pin_memory",
        "persistent_workers",
        "prefetch_factor",
        "collate_fn",
        "worker_init_fn",
        "generator",
        "timeout",
        "drop_last",
        "sampler",
        "batch_sampler",
        "multiprocessing_context",
        "pin_memory_device",
        "in_order",
    }
)
#: share of the training keypoints outside their images above which fit warns
OUTSIDE_WARNING_SHARE = 0.1
#: how many image sizes outside its image a training point may lie before fit refuses it
FAR_OUTSIDE = 10


class TrainingData:
    """Mixin of :class:`~sklearn_fkd.estimators.KeypointNet`: its data, checked."""

    def _schema_of_y(self, n_points: int) -> KeypointSchema:
        """The ``schema`` parameter, or the one inferred from ``y``'s point count."""
        return self.schema if self.schema is not None else infer_schema(n_points)

    def _target_schema(self, y_flat: np.ndarray) -> KeypointSchema:
        """The schema of the points the model predicts."""
        k = y_flat.shape[1] // 2
        schema = self._schema_of_y(k)
        if schema.n_points != k:
            raise ValueError(f"schema {schema.name!r} has {schema.n_points} points, y has {k}")
        return schema

    def _check_images(self, X) -> torch.Tensor:
        """Validated images of the fitted size and channel count, as a tensor; warns when
        float pixels are on another scale than the training pixels."""
        Xt = self._check_image_shape(images_to_tensor(X))
        scale = 255.0 if Xt.dtype == torch.uint8 else 1.0
        given = float(Xt[:256].float().mean()) / scale  # as the network will see them
        fitted = float(np.mean(self.input_mean_))
        if fitted > 1e-3 and given > 1e-3 and not 1 / 20 < given / fitted < 20:
            warnings.warn(
                f"X's pixels average {given:.3g} as the network sees them, the training "
                f"pixels {fitted:.3g}: uint8 images are scaled to [0, 1], float images are "
                "taken as they are; give X on the scale the model was fitted on",
                UserWarning,
                stacklevel=3,
            )
        return Xt

    def _check_image_shape(self, Xt: torch.Tensor) -> torch.Tensor:
        c, h, w = Xt.shape[1:]
        if (c, h, w) != (self.n_channels_, *self.image_size_):
            raise ValueError(
                f"X has images of {h}x{w} with {c} channel(s); the estimator was fitted on "
                f"{self.image_size_[0]}x{self.image_size_[1]} with {self.n_channels_}"
            )
        return Xt

    def _training_data(self, X, y, reset: bool) -> KeypointDataset:
        """Validate ``X``, ``y`` and build the in-memory dataset (fitted stats on reset)."""
        Xt = images_to_tensor(X)
        y_flat = self.prepare_targets(y)
        check_consistent_length(X=Xt, y=y_flat)
        if reset:
            self._learn_data(Xt, y_flat)
        else:
            self._check_image_shape(Xt)
            if y_flat.shape[1] != 2 * self.n_keypoints_:
                raise ValueError(
                    f"y has {y_flat.shape[1] // 2} points, the estimator was fitted on "
                    f"{self.n_keypoints_}"
                )
        empty = np.isnan(y_flat).all(axis=1)
        if empty.all():
            raise ValueError("every row of y is missing (all NaN); nothing to learn from")
        _check_points_inside(y_flat, (int(Xt.shape[2]), int(Xt.shape[3])))
        if empty.any():
            warnings.warn(
                f"{int(empty.sum())} of {len(empty)} training rows have no keypoint (all "
                "NaN) and are left out of the loss",
                UserWarning,
                stacklevel=3,
            )
            Xt, y_flat = Xt[torch.from_numpy(~empty)], y_flat[~empty]
        dataset = KeypointDataset(Xt, torch.from_numpy(self._normalized_targets(y_flat)))
        dataset.rows = np.flatnonzero(~empty)  # which rows of y it holds
        return dataset

    def _learn_data(self, Xt: torch.Tensor, y_flat: np.ndarray) -> None:
        """What fit learns from the data: schema, sizes, input statistics, mean shape."""
        self.schema_ = self._target_schema(y_flat)
        self.n_keypoints_ = self.schema_.n_points
        self.n_channels_ = int(Xt.shape[1])
        self.image_size_ = (int(Xt.shape[2]), int(Xt.shape[3]))
        mean, std = channel_stats(Xt)
        self.input_mean_ = mean.astype(np.float32)
        self.input_std_ = np.maximum(std, 1e-6).astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # never-annotated points
            self.mean_shape_ = np.nanmean(y_flat, axis=0)
            self.mean_shape_std_ = np.nanstd(y_flat, axis=0)

    def _normalized_targets(self, y_flat: np.ndarray) -> np.ndarray:
        """``y`` in ``[-1, 1]`` units, float32; points more than ``FAR_OUTSIDE`` image
        sizes outside their image (a 1e308, keypoints of another frame) are refused:
        they would overflow the loss to NaN."""
        with np.errstate(over="ignore", invalid="ignore"):
            normalized = self.readout(training=True).encode(y_flat).astype(np.float32)
            far = np.abs(normalized) > 2 * FAR_OUTSIDE + 1
        if far.any():
            i, j = np.argwhere(far)[0]
            raise ValueError(
                f"y[{i}, {j}] = {y_flat[i, j]:g} lies more than {FAR_OUTSIDE} image sizes "
                "outside its image: keypoints must be finite pixel coordinates of these "
                "images"
            )
        return normalized

    def _flip_permutation(self) -> np.ndarray | None:
        """The schema's flip permutation, or None when it does not say how points mirror."""
        return None if self.schema_.flip_pairs is None else self.schema_.flip_permutation

    def trained_on_flips(self) -> bool:
        """Whether the training augmentation mirrors images (and the schema says how)."""
        return (
            self.augment_ is not None
            and bool(self.augment_.flip)
            and self._flip_permutation() is not None
        )

    def _warn_if_not_flipped(self) -> None:
        if self.augment_ is not None and self.augment_.flip and self._flip_permutation() is None:
            warnings.warn(
                f"schema {self.schema_.name!r} does not say how its points mirror, so the "
                "augmentation does not flip images; give the schema flip_pairs (or "
                "flip_pairs=() when every point is its own mirror image) to train on flips",
                UserWarning,
                stacklevel=4,
            )

    def _normalized_mean_shape(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``mean_shape_`` and its spread (``mean_shape_prior_width`` standard
        deviations) in ``[-1, 1]`` units, ``(K, 2)`` each; never-annotated points get the
        centre and a flat prior."""
        h, w = self.image_size_
        mean = self.readout(training=True).encode(self.mean_shape_[None])[0]
        mean = torch.from_numpy(mean).view(-1, 2)
        scale = torch.tensor([2.0 / w, 2.0 / h], dtype=torch.float64)
        spread = torch.from_numpy(self.mean_shape_std_).view(-1, 2) * scale
        spread = spread * self.mean_shape_prior_width
        unknown = torch.isnan(mean).any(dim=1) | torch.isnan(spread).any(dim=1)
        mean[unknown], spread[unknown] = 0.0, 1e3
        return mean.float(), spread.clamp_min(1e-3).float()

    def get_iterator(self, dataset, training=False):
        """The batches of ``dataset``: the in-memory :class:`BatchIterator`, or torch's
        ``DataLoader`` when ``iterator_train__*``/``iterator_valid__*`` give arguments
        only a DataLoader has (``num_workers``, ``pin_memory``...)."""
        prefix = "iterator_train" if training else "iterator_valid"
        given = self.get_params_for(prefix)
        iterator = self.iterator_train if training else self.iterator_valid
        kwargs = {"shuffle": True, "drop_singleton": True} if training else {}
        kwargs.update(given)
        kwargs.setdefault("batch_size", self.batch_size)
        accelerator = self._accelerator()
        if training and accelerator is not None and accelerator.num_processes > 1:
            if self.random_state is None:
                raise ValueError(
                    "training in several processes needs random_state: every process must "
                    "shuffle the same way to draw disjoint shards"
                )
            kwargs.setdefault("shard", (accelerator.process_index, accelerator.num_processes))
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        unknown = set(given) - BATCH_ITERATOR_ARGS - DATALOADER_ARGS
        if unknown:
            raise TypeError(
                f"{', '.join(f'{prefix}__{k}' for k in sorted(unknown))}: not an argument of "
                "the estimators' batch iterator nor of torch.utils.data.DataLoader"
            )
        if iterator is BatchIterator and set(given) & DATALOADER_ARGS:
            iterator = torch.utils.data.DataLoader
        if iterator is not BatchIterator:
            if "shard" in kwargs:
                raise ValueError("sharded training (several processes) needs the batch iterator")
            kwargs.pop("drop_singleton", None)
            kwargs.setdefault("drop_last", training and len(dataset) % kwargs["batch_size"] == 1)
        return iterator(dataset, **kwargs)


def _check_points_inside(y_flat: np.ndarray, size: tuple[int, int]) -> None:
    """Refuse targets that all lie outside their images, warn when many do: outside
    points are trained around after augmentation, which would leave nothing to learn
    (e.g. keypoints of the original photos given with resized images)."""
    points = to_points(y_flat)
    h, w = size
    visible = ~np.isnan(points).any(axis=2)
    with np.errstate(invalid="ignore"):
        outside = (
            (points[..., 0] < -0.5)
            | (points[..., 0] > w - 0.5)
            | (points[..., 1] < -0.5)
            | (points[..., 1] > h - 0.5)
        ) & visible
    share = outside.sum() / max(1, visible.sum())
    example = ""
    if outside.any():
        i, k = np.argwhere(outside)[0]
        example = f" (e.g. row {i}, point {k} at {points[i, k].round(1).tolist()})"
    if share == 1:
        raise ValueError(
            f"every keypoint of y lies outside its {w}x{h} image{example}: are the "
            "keypoints in the pixels of these images (not of the originals before a "
            "resize or crop)?"
        )
    if share > OUTSIDE_WARNING_SHARE:
        warnings.warn(
            f"{share:.0%} of the keypoints of y lie outside their {w}x{h} images"
            f"{example}; are they in the pixels of these images?",
            UserWarning,
            stacklevel=4,
        )
