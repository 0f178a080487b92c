"""Data plumbing of the estimators: images as one tensor, input statistics, the
in-memory dataset and its batch iterator (skorch keeps ``dataset.py`` apart from
``net.py`` the same way)."""

from __future__ import annotations

import math

import numpy as np
import torch

from ..utils.validation import check_images

__all__ = ["BatchIterator", "KeypointDataset", "channel_stats", "images_to_tensor"]


def images_to_tensor(X, name: str = "X") -> torch.Tensor:
    """Validated images (:func:`~sklearn_fkd.utils.check_images`) as one ``(n, C, H, W)``
    tensor, without a float copy.

    uint8 images stay uint8 (scaled to [0, 1] batch by batch on the device); float
    images become float32.

    Parameters
    ----------
    X : ndarray of shape (n, H, W) or (n, H, W, C), or a list of same-size images

    Returns
    -------
    Tensor of shape (n, C, H, W), uint8 or float32 (a view of ``X`` when possible; it
    is never written to)
    """
    images = check_images(X, name)
    arr = images.array
    if arr is None:
        shapes = {im.shape for im in images}
        if len(shapes) > 1:
            raise ValueError(
                f"{name} holds images of different sizes ({len(shapes)} shapes, e.g. "
                f"{sorted(shapes)[:2]}); put a Resize step (sklearn_fkd.preprocessing) "
                "before the estimator"
            )
        arr = np.stack(images)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.dtype == np.uint8:
        out = torch.from_numpy(np.ascontiguousarray(arr))
    else:
        out = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    return out.permute(0, 3, 1, 2)


def channel_stats(Xt: torch.Tensor, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and (unbiased) standard deviation of ``[0, 1]``-scaled images.

    Accumulated in float64 over chunks of ``chunk`` images, so the memory it needs does
    not grow with the data set (a float64 copy of 5,000 96x96 faces would be 370 MB).

    Parameters
    ----------
    Xt : Tensor of shape (n, C, H, W)
        uint8 (scaled by 1/255) or float images.
    chunk : int, default=256

    Returns
    -------
    mean, std : ndarray of shape (C,), float64
    """
    scale = 255.0 if Xt.dtype == torch.uint8 else 1.0
    c = Xt.shape[1]
    total = torch.zeros(c, dtype=torch.float64)
    squares = torch.zeros(c, dtype=torch.float64)
    for part in Xt.split(chunk):
        values = part.transpose(0, 1).reshape(c, -1).double() / scale
        total += values.sum(dim=1)
        squares += values.square().sum(dim=1)
    count = Xt.shape[0] * Xt.shape[2] * Xt.shape[3]
    mean = total / count
    var = (squares - count * mean.square()).clamp_min(0) / max(count - 1, 1)
    return mean.numpy(), var.sqrt().numpy()


class KeypointDataset(torch.utils.data.Dataset):
    """In-memory images ``(n, C, H, W)`` and normalised targets ``(n, 2K)`` or None."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None):
        self.X = X
        self.y = y

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], (self.y[i] if self.y is not None else torch.empty(0))


def dataset_tensors(dataset) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The tensors behind a :class:`KeypointDataset` or a ``Subset`` of one (skorch's
    validation splits)."""
    if isinstance(dataset, torch.utils.data.Subset):
        X, y = dataset_tensors(dataset.dataset)
        idx = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
        return X[idx], (y[idx] if y is not None else None)
    if isinstance(dataset, KeypointDataset):
        return dataset.X, dataset.y
    raise TypeError(f"expected a KeypointDataset, got {type(dataset).__name__}")


class BatchIterator:
    """Yield ``(X_batch, y_batch)`` slices of in-memory tensors.

    Replaces ``torch.utils.data.DataLoader``: no per-item ``__getitem__`` and collation,
    one index operation per batch. Shuffles with the global torch generator (seeded by
    the estimator's ``random_state``). A trailing batch of one sample is dropped while
    training (BatchNorm needs two); it is a different sample every epoch.

    ``shard=(i, k)`` yields only process ``i``'s share of ``k`` equal, disjoint shares
    of the (identically shuffled) samples, for data-parallel training in ``k``
    processes.
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 32,
        shuffle: bool = False,
        drop_singleton: bool = False,
        shard: tuple[int, int] | None = None,
    ):
        self.X, self.y = dataset_tensors(dataset)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_singleton = drop_singleton
        self.shard = shard

    def _n_samples(self) -> int:
        """Samples this iterator yields: all, or an equal share of them per shard (the
        remainder is left out, a different one each shuffled epoch)."""
        n = len(self.X)
        return n if self.shard is None else n // self.shard[1]

    def __len__(self) -> int:
        n = self._n_samples()
        n_batches = math.ceil(n / self.batch_size)
        if self.drop_singleton and n % self.batch_size == 1 and n_batches > 1:
            n_batches -= 1
        return n_batches

    def __iter__(self):
        order = torch.randperm(len(self.X)) if self.shuffle else None
        n = self._n_samples()
        if self.shard is not None:  # process i of k: every k-th sample from i
            index, count = self.shard
            everything = order if order is not None else torch.arange(len(self.X))
            order = everything[index::count][:n]
        for b in range(len(self)):
            sl = slice(b * self.batch_size, min(n, (b + 1) * self.batch_size))
            idx = order[sl] if order is not None else sl
            yield self.X[idx], (self.y[idx] if self.y is not None else None)
