"""Where pixels go: per-sample point maps, keypoint boxes and crop windows.

The geometric steps of :mod:`sklearn_fkd.preprocessing` move each sample's pixels by an
axis-aligned affine map of pixel coordinates, ``x' = a x + b`` and ``y' = c y + d``,
held for a whole batch in a :class:`PointMap`. The maps are exact under the library's
pixel-centre convention (pixel centres at integers): a resize by ``s`` is
``x' = (x + 0.5) s - 0.5`` (:func:`resize_map`), a crop at column ``x0`` is
``x' = x - x0``; maps compose and invert in closed form.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .keypoints import check_keypoints, to_points
from .utils.validation import check_consistent_length

__all__ = [
    "AffineMap",
    "PointMap",
    "box_iou",
    "crop_windows",
    "image_shapes",
    "keypoint_boxes",
    "resize_map",
]


def image_shapes(images) -> np.ndarray:
    """``(n, 2)`` int array of each image's ``(H, W)``."""
    return np.array([np.shape(im)[:2] for im in images], dtype=np.int64)


def _moved_points(y, point_map, move) -> np.ndarray:
    """``y`` checked (``(n, 2K)`` or ``(n, K, 2)``, one row per sample of ``point_map``)
    and moved by ``move`` (points ``(n, K, 2)`` -> points): a new ``(n, 2K)`` array."""
    points = to_points(check_keypoints(y, name="y"))
    check_consistent_length(y=points, point_map=point_map)
    return move(points).reshape(len(points), -1)


@dataclass(frozen=True)
class PointMap:
    """Per-sample axis-aligned affine maps of pixel coordinates: ``p' = scale * p + offset``.

    Parameters
    ----------
    scale : ndarray of shape (n, 2)
        ``(sx, sy)`` of each sample, positive.
    offset : ndarray of shape (n, 2)
        ``(bx, by)`` of each sample.
    out_shapes : ndarray of shape (n, 2)
        ``(H', W')`` of each output image.
    """

    scale: np.ndarray
    offset: np.ndarray
    out_shapes: np.ndarray

    def __post_init__(self):
        n = len(self.scale)
        for field in ("scale", "offset", "out_shapes"):
            value = np.asarray(getattr(self, field))
            if value.shape != (n, 2):
                raise ValueError(f"PointMap.{field} must have shape ({n}, 2), got {value.shape}")
        if not (np.asarray(self.scale) > 0).all():
            raise ValueError("PointMap.scale must be positive")

    def __len__(self) -> int:
        return len(self.scale)

    def _apply(self, y, scale, offset) -> np.ndarray:
        return _moved_points(y, self, lambda p: p * scale[:, None, :] + offset[:, None, :])

    def forward(self, y) -> np.ndarray:
        """Points of the input images -> points of the output images.

        Parameters
        ----------
        y : array-like of shape (n, 2K) or (n, K, 2)

        Returns
        -------
        ndarray of shape (n, 2K), float64 (a new array; NaN stays NaN)
        """
        return self._apply(y, np.asarray(self.scale), np.asarray(self.offset))

    def inverse(self, y) -> np.ndarray:
        """Points of the output images -> points of the input images (see :meth:`forward`)."""
        scale = 1.0 / np.asarray(self.scale, dtype=np.float64)
        return self._apply(y, scale, -np.asarray(self.offset) * scale)

    def then(self, other: PointMap) -> PointMap:
        """The map that applies ``self`` and then ``other``."""
        check_consistent_length(first_map=self, second_map=other)
        return PointMap(
            scale=np.asarray(self.scale) * other.scale,
            offset=np.asarray(self.offset) * other.scale + other.offset,
            out_shapes=np.asarray(other.out_shapes),
        )


@dataclass(frozen=True)
class AffineMap:
    """Per-sample affine maps of pixel coordinates, rotations included: ``p' = A p + b``.

    The general sibling of :class:`PointMap` (same ``forward``/``inverse``/``out_shapes``
    protocol), for steps that rotate, such as
    :class:`~sklearn_fkd.preprocessing.FaceAligner`.

    Parameters
    ----------
    matrix : ndarray of shape (n, 2, 3)
        ``[A | b]`` of each sample; ``A`` invertible.
    out_shapes : ndarray of shape (n, 2)
        ``(H', W')`` of each output image.
    """

    matrix: np.ndarray
    out_shapes: np.ndarray

    def __post_init__(self):
        n = len(self.matrix)
        if np.shape(self.matrix) != (n, 2, 3) or np.shape(self.out_shapes) != (n, 2):
            raise ValueError(
                f"AffineMap needs matrix (n, 2, 3) and out_shapes (n, 2), got "
                f"{np.shape(self.matrix)} and {np.shape(self.out_shapes)}"
            )
        if not (np.abs(np.linalg.det(np.asarray(self.matrix)[:, :, :2])) > 0).all():
            raise ValueError("AffineMap matrices must be invertible")

    def __len__(self) -> int:
        return len(self.matrix)

    def _apply(self, y, matrix: np.ndarray) -> np.ndarray:
        linear, shift = np.swapaxes(matrix[:, :, :2], 1, 2), matrix[:, None, :, 2]
        return _moved_points(y, self, lambda p: p @ linear + shift)

    def forward(self, y) -> np.ndarray:
        """Points of the input images -> points of the output images, ``(n, 2K)``
        float64 (a new array; NaN stays NaN)."""
        return self._apply(y, np.asarray(self.matrix, dtype=np.float64))

    def inverse(self, y) -> np.ndarray:
        """Points of the output images -> points of the input images."""
        return self._apply(y, self.inverse_matrix())

    def inverse_matrix(self) -> np.ndarray:
        """``(n, 2, 3)``: the maps from output to input pixels."""
        matrix = np.asarray(self.matrix, dtype=np.float64)
        inverse = np.linalg.inv(matrix[:, :, :2])
        return np.concatenate([inverse, -inverse @ matrix[:, :, 2:]], axis=2)


def resize_map(shapes, out_shape: tuple[int, int]) -> PointMap:
    """The map of resizing images of ``shapes`` to ``out_shape``.

    Parameters
    ----------
    shapes : array-like of shape (n, 2)
        ``(H, W)`` of each input image.
    out_shape : (int, int)
        ``(H', W')``.

    Returns
    -------
    PointMap
        ``x' = (x + 0.5) W' / W - 0.5`` and likewise for ``y``.

    Examples
    --------
    >>> resize_map([[480, 640]], (120, 160)).forward([[639.5, 479.5]])
    array([[159.5, 119.5]])
    """
    shapes = np.asarray(shapes, dtype=np.float64).reshape(-1, 2)
    out = np.asarray(out_shape, dtype=np.float64)
    scale = (out / shapes)[:, ::-1]  # (sx, sy)
    return PointMap(scale, 0.5 * scale - 0.5, np.tile(out.astype(np.int64), (len(shapes), 1)))


def box_iou(a, b) -> float:
    """Intersection over union of two boxes ``(x0, y0, x1, y1)`` (0 when either is
    empty)."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def keypoint_boxes(y) -> np.ndarray:
    """Bounding box ``(x0, y0, x1, y1)`` of each row's visible keypoints.

    Parameters
    ----------
    y : array-like of shape (n, 2K) or (n, K, 2)

    Returns
    -------
    ndarray of shape (n, 4), float64; NaN for rows without a visible point
    """
    points = to_points(check_keypoints(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        return np.concatenate([np.nanmin(points, axis=1), np.nanmax(points, axis=1)], axis=1)


def scale_boxes(boxes, factor, shift=0.0) -> np.ndarray:
    """Boxes ``(x0, y0, x1, y1)`` scaled by ``factor`` about their centres, then moved by
    ``shift``.

    Parameters
    ----------
    boxes : array-like of shape (n, 4)
    factor : float or ndarray broadcastable to (n, 2)
        Greater than 1 grows the boxes: one number, one per box ``(n, 1)``, or one per
        axis.
    shift : float or ndarray broadcastable to (n, 2), default=0.0
        Pixels added to each centre ``(x, y)``.

    Returns
    -------
    ndarray of shape (n, 4), float64; NaN rows stay NaN
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2 + shift
    half = (boxes[:, 2:] - boxes[:, :2]) / 2 * factor
    return np.concatenate([centre - half, centre + half], axis=1)


def crop_windows(faces: np.ndarray, shapes: np.ndarray, margin: float, square: bool) -> np.ndarray:
    """Integer windows ``(x0, y0, x1, y1)`` (end exclusive) inside each image.

    The face box (continuous pixel coordinates) is grown by ``margin`` of its larger side
    on each side (and made square if asked); the window is the smallest run of whole
    pixels of one size per axis, ``ceil(extent) + 1``, whose cells cover it. It is then
    shifted inside the image and, where still larger, clipped to it. A NaN face takes
    the whole image.

    Parameters
    ----------
    faces : ndarray of shape (n, 4)
        ``(x0, y0, x1, y1)`` face boxes; NaN rows for none.
    shapes : ndarray of shape (n, 2)
        ``(H, W)`` of each image.
    margin : float
    square : bool

    Returns
    -------
    ndarray of shape (n, 4), int64
    """
    image_wh = shapes[:, ::-1].astype(np.float64)
    size = faces[:, 2:] - faces[:, :2]
    side = size.max(axis=1, keepdims=True)
    grown = (np.repeat(side, 2, axis=1) if square else size) + 2 * margin * side
    low = (faces[:, :2] + faces[:, 2:]) / 2 - grown / 2
    extent = np.minimum(np.ceil(grown) + 1, image_wh)
    start = np.clip(np.floor(low + 0.5), 0, image_wh - extent)  # cell of the low edge
    window = np.concatenate([start, start + extent], axis=1)
    missing = np.isnan(faces).any(axis=1)
    window[missing] = np.concatenate([np.zeros_like(image_wh), image_wh], axis=1)[missing]
    return window.astype(np.int64)
