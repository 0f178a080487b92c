"""The resizing and intensity steps (:class:`Resize`, :class:`Grayscale`,
:class:`Standardize`) and the base of the geometric steps."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..geometry import (
    PointMap,
    image_shapes,
    resize_map,
)
from ..imaging import resize_image, stack_if_uniform, to_gray
from ..utils.validation import check_images

__all__ = ["GeometricStep", "Grayscale", "Resize", "Standardize", "check_image_size"]


def check_image_size(size, low: int = 1) -> tuple[int, int]:
    """An output ``size`` parameter checked: an int (a square) or ``(height, width)``,
    integers of at least ``low``; returned as ``(height, width)``."""
    pair = (size, size) if isinstance(size, numbers.Integral) else size
    try:
        h, w = (int(s) for s in pair)
    except (TypeError, ValueError):
        raise TypeError(f"size must be an int or (height, width), got {size!r}") from None
    if h < low or w < low or (h, w) != tuple(pair):
        raise ValueError(f"size must be integers of at least {low}, got {size!r}")
    return h, w


class GeometricStep(TransformerMixin, BaseEstimator):
    """A step that moves pixels; subclasses define ``point_map`` and ``warp``."""

    def fit(self, X, y=None):
        """Nothing to learn; validates ``X``. Returns ``self``."""
        check_images(X)
        return self

    def point_map(self, X, y=None, **params) -> PointMap:
        raise NotImplementedError

    def warp(self, X, point_map: PointMap):
        raise NotImplementedError

    def transform(self, X, **params):
        """The moved images (see :meth:`point_map` for the parameters)."""
        images = check_images(X)
        return self.warp(images, self.point_map(images, **params))

    def fit_transform(self, X, y=None, **params):
        """Fit, then move the images; with ``y`` a crop follows the true points."""
        images = check_images(X)
        self.fit(images, y)
        return self.warp(images, self.point_map(images, y=y, **params))

    def transform_keypoints(self, X, y, **params) -> np.ndarray:
        """Keypoints ``(n, 2K)`` of ``X`` in the output images' pixels (fit-time map)."""
        return self.point_map(X, y=y, **params).forward(y)

    def inverse_transform_keypoints(self, X, y, **params) -> np.ndarray:
        """Keypoints ``(n, 2K)`` predicted on the outputs, back in ``X``'s pixels.

        The map is the predict-time one (``y`` is not used to place a crop).
        """
        return self.point_map(X, **params).inverse(y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags


class Resize(GeometricStep):
    """Resize every image to one size (antialiased bilinear; uint8 stays uint8).

    Parameters
    ----------
    size : int or (int, int), default=(96, 96)
        ``(height, width)`` of the outputs, as in ``array.shape``; an int for squares.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fkd.preprocessing import Resize
    >>> X = np.zeros((2, 480, 640), dtype=np.uint8)
    >>> Resize((120, 160)).transform(X).shape
    (2, 120, 160)
    >>> Resize((120, 160)).transform_keypoints(X, [[639.5, 479.5], [0.0, 0.0]])
    array([[159.5 , 119.5 ],
           [-0.375, -0.375]])
    """

    def __init__(self, size=(96, 96)):
        self.size = size

    def _out_shape(self) -> tuple[int, int]:
        return check_image_size(self.size)

    def point_map(self, X, y=None, **params) -> PointMap:
        """Per-sample scales ``(W'/W, H'/H)``.

        Parameters
        ----------
        X : images
        y : ignored
        """
        return resize_map(image_shapes(check_images(X)), self._out_shape())

    def warp(self, X, point_map: PointMap) -> np.ndarray:
        """Resized images, ``(n, H', W'[, C])``."""
        images = check_images(X)
        channels = {1 if im.ndim == 2 else im.shape[2] for im in images}
        if len(channels) > 1:
            raise ValueError(
                f"X mixes images of {' and '.join(map(str, sorted(channels)))} channels, which "
                "Resize cannot stack into one array: put Grayscale() before Resize, or give "
                "images of one kind"
            )
        return np.stack(
            [
                resize_image(im, (w, h))
                for im, (h, w) in zip(images, point_map.out_shapes, strict=True)
            ]
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags


class Grayscale(TransformerMixin, BaseEstimator):
    """Grey images (ITU-R 601-2 luma); grey inputs pass through. Keypoints stay put.

    uint8 stays uint8 and floats stay float32. The output is ``(n, H, W)`` (or a list).
    """

    def fit(self, X, y=None):
        """Nothing to learn. Returns ``self``."""
        check_images(X)
        return self

    def transform(self, X):
        """Grey images, ``(n, H, W)`` or a list of ``(H, W)`` arrays."""
        return stack_if_uniform([to_gray(im) for im in check_images(X)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags


class Standardize(TransformerMixin, BaseEstimator):
    """Zero-mean, unit-variance intensities, as float32. Keypoints stay put.

    Parameters
    ----------
    per_image : bool, default=True
        True: each image by its own mean and standard deviation (robust to lighting
        and contrast changes between photographs). False: by the mean and standard
        deviation of all training pixels, learned at fit (``mean_``, ``std_``).
    eps : float, default=1e-6
        Floor on the standard deviation (blank images stay finite).

    Attributes
    ----------
    mean_, std_ : float
        Training pixels' statistics (``per_image=False``; pixel units of ``X``).
    """

    def __init__(self, per_image: bool = True, eps: float = 1e-6):
        self.per_image = per_image
        self.eps = eps

    def fit(self, X, y=None):
        """Learn the data-set statistics (``per_image=False``). Returns ``self``."""
        if not self.eps > 0:
            raise ValueError(f"eps must be positive, got {self.eps!r}")
        images = check_images(X)
        if not self.per_image:
            # two passes in float64, one image at a time: exact and memory-bounded
            count = sum(im.size for im in images)
            self.mean_ = float(sum(im.sum(dtype=np.float64) for im in images) / count)
            sq = sum(((im.astype(np.float64) - self.mean_) ** 2).sum() for im in images)
            self.std_ = float(np.sqrt(sq / count))
        return self

    def transform(self, X):
        """Standardised float32 images, same shapes as ``X``."""
        images = check_images(X)
        out = []
        for im in images:
            im = im.astype(np.float32)
            if self.per_image:
                mean, std = im.mean(), im.std()
            else:
                check_is_fitted(self, "mean_")
                mean, std = self.mean_, self.std_
            out.append((im - mean) / max(float(std), self.eps))
        return stack_if_uniform(out)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = not self.per_image
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
