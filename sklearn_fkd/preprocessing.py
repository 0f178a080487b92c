"""Keypoint-aware preprocessing steps: :class:`FaceCrop`, :class:`Resize`,
:class:`Grayscale` and :class:`Standardize`.

The geometric steps (``FaceCrop``, ``Resize``) move the keypoints with the image. Each
sample's move is an axis-aligned affine map of pixel coordinates, ``x' = a x + b`` and
``y' = c y + d``, held for the whole batch in a :class:`PointMap`; it is exact under the
library's pixel-centre convention (a resize by ``s`` is ``x' = (x + 0.5) s - 0.5``, a
crop at column ``x0`` is ``x' = x - x0``), and maps compose and invert in closed form.

The protocol :class:`~sklearn_fkd.pipeline.KeypointPipeline` relies on, for a step
that moves pixels:

* ``point_map(X, y=None, **params) -> PointMap``: where each sample's pixels go. ``y``
  is given at fit only (a crop then follows the true points).
* ``warp(X, point_map) -> images``: the images moved by that map.
* ``transform_keypoints(X, y, **params)`` and ``inverse_transform_keypoints(X, y,
  **params)``: points through the map and back (DESIGN.md's names), for direct use.

Intensity-only steps (``Grayscale``, ``Standardize`` and any ordinary scikit-learn
transformer) leave the keypoints where they are.

Images are ``(n, H, W)`` or ``(n, H, W, C)`` arrays, or lists of ``(H, W[, C])`` arrays
of different sizes; a step returns one array when its outputs share a shape and a list
otherwise.
"""

from __future__ import annotations

import functools
import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._imaging import resize_image, stack_if_uniform, to_gray
from .keypoints import check_keypoints, to_points

__all__ = [
    "FaceCrop",
    "Grayscale",
    "LBPFaceDetector",
    "PointMap",
    "Resize",
    "Standardize",
    "check_images",
    "keypoint_boxes",
]


def check_images(X, name: str = "X") -> list[np.ndarray]:
    """Validate images and return them as a list of ``(H, W)`` or ``(H, W, C)`` arrays.

    The arrays are views of the caller's data when possible; steps never write to them.

    Parameters
    ----------
    X : ndarray of shape (n, H, W) or (n, H, W, C), or a list of (H, W[, C]) arrays

    Returns
    -------
    list of ndarray

    Raises
    ------
    TypeError
        For non-numeric pixels.
    ValueError
        For an empty set, wrong dimensions, or NaN/infinite float pixels.
    """
    if isinstance(X, np.ndarray):
        if X.ndim not in (3, 4):
            raise ValueError(f"{name} must have shape (n, H, W) or (n, H, W, C), got {X.shape}")
        images = list(X)
    elif isinstance(X, (list, tuple)):
        images = [np.asarray(im) for im in X]
    else:
        raise TypeError(f"{name} must be an array or a list of images, got {type(X).__name__}")
    if not images:
        raise ValueError(f"{name} is empty")
    for i, im in enumerate(images):
        if im.dtype == object or im.dtype == bool or not np.issubdtype(im.dtype, np.number):
            raise TypeError(f"{name}[{i}] must hold numeric pixels, got dtype {im.dtype}")
        if im.ndim not in (2, 3) or min(im.shape[:2]) == 0:
            raise ValueError(f"{name}[{i}] must have shape (H, W) or (H, W, C), got {im.shape}")
        if np.issubdtype(im.dtype, np.floating) and not np.isfinite(im).all():
            raise ValueError(f"{name}[{i}] contains NaN or infinite pixels")
    return images


def _image_shapes(images: list[np.ndarray]) -> np.ndarray:
    """``(n, 2)`` int array of ``(H, W)``."""
    return np.array([im.shape[:2] for im in images], dtype=np.int64)


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

    def _apply(self, y, scale, offset, name: str) -> np.ndarray:
        points = to_points(check_keypoints(y, name=name))
        if len(points) != len(self):
            raise ValueError(f"{name} has {len(points)} samples, the map has {len(self)}")
        moved = points * scale[:, None, :] + offset[:, None, :]
        return moved.reshape(len(points), -1)

    def forward(self, y) -> np.ndarray:
        """Points of the input images -> points of the output images.

        Parameters
        ----------
        y : array-like of shape (n, 2K) or (n, K, 2)

        Returns
        -------
        ndarray of shape (n, 2K), float64 (a new array; NaN stays NaN)
        """
        return self._apply(y, np.asarray(self.scale), np.asarray(self.offset), "y")

    def inverse(self, y) -> np.ndarray:
        """Points of the output images -> points of the input images (see :meth:`forward`)."""
        scale = 1.0 / np.asarray(self.scale, dtype=np.float64)
        return self._apply(y, scale, -np.asarray(self.offset) * scale, "y")

    def then(self, other: PointMap) -> PointMap:
        """The map that applies ``self`` and then ``other``."""
        if len(other) != len(self):
            raise ValueError(f"cannot compose maps of {len(self)} and {len(other)} samples")
        return PointMap(
            scale=np.asarray(self.scale) * other.scale,
            offset=np.asarray(self.offset) * other.scale + other.offset,
            out_shapes=np.asarray(other.out_shapes),
        )


class _GeometricStep(TransformerMixin, BaseEstimator):
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
        return self.warp(X, self.point_map(X, **params))

    def fit_transform(self, X, y=None, **params):
        """Fit, then move the images; with ``y`` a crop follows the true points."""
        self.fit(X, y)
        return self.warp(X, self.point_map(X, y=y, **params))

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


class Resize(_GeometricStep):
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
        size = (self.size, self.size) if isinstance(self.size, numbers.Integral) else self.size
        try:
            h, w = (int(s) for s in size)
        except (TypeError, ValueError):
            raise TypeError(f"size must be an int or (height, width), got {self.size!r}") from None
        if h < 1 or w < 1 or (h, w) != tuple(size):
            raise ValueError(f"size must be positive integers, got {self.size!r}")
        return h, w

    def point_map(self, X, y=None, **params) -> PointMap:
        """Per-sample scales ``(W'/W, H'/H)``.

        Parameters
        ----------
        X : images
        y : ignored
        """
        out = np.array(self._out_shape(), dtype=np.float64)
        shapes = _image_shapes(check_images(X))
        scale = (out / shapes)[:, ::-1]  # (sx, sy)
        return PointMap(scale, 0.5 * scale - 0.5, np.tile(out.astype(np.int64), (len(shapes), 1)))

    def warp(self, X, point_map: PointMap) -> np.ndarray:
        """Resized images, ``(n, H', W'[, C])``."""
        images = check_images(X)
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


@functools.lru_cache(maxsize=1)
def _lbp_cascade():
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    return Cascade(lbp_frontal_face_cascade_filename())


class LBPFaceDetector:
    """The frontal-face LBP cascade shipped with scikit-image (offline, CPU).

    Called on one image, returns the largest face found as ``(x0, y0, x1, y1)`` pixel
    edges, or None. The cascade's box is tighter than the keypoints' (eyes to mouth);
    :class:`FaceCrop` calibrates it against the true points at fit.

    Parameters
    ----------
    scale_factor : float, default=1.2
        Step between the scales searched.
    min_size : int, default=24
        Smallest face side searched, in pixels.
    min_neighbours : int, default=2
        Overlapping raw detections needed to accept a face.
    max_side : int or None, default=320
        Images whose longer side exceeds this are searched at that size (the box is
        scaled back): the cascade's cost grows with the pixel count, and a face that
        is under ``min_size`` there is under 8 % of the photo's side.
    """

    def __init__(
        self,
        scale_factor: float = 1.2,
        min_size: int = 24,
        min_neighbours: int = 2,
        max_side: int | None = 320,
    ):
        self.scale_factor = scale_factor
        self.min_size = min_size
        self.min_neighbours = min_neighbours
        self.max_side = max_side

    def __call__(self, image: np.ndarray):
        grey = to_gray(np.asarray(image))
        scale = 1.0
        if self.max_side is not None and max(grey.shape) > self.max_side:
            scale = max(grey.shape) / self.max_side
            size = (round(grey.shape[1] / scale), round(grey.shape[0] / scale))  # (w, h)
            grey = resize_image(grey, size)
        grey = grey.astype(np.float32)
        if np.asarray(image).dtype == np.uint8:
            grey /= 255.0
        if min(grey.shape) < self.min_size:
            return None
        found = _lbp_cascade().detect_multi_scale(
            img=grey,
            scale_factor=self.scale_factor,
            step_ratio=1,
            min_size=(self.min_size, self.min_size),
            max_size=grey.shape,
            min_neighbor_number=self.min_neighbours,
        )
        if not found:
            return None
        best = max(found, key=lambda d: d["width"] * d["height"])
        c, r, w, h = (best[k] * scale for k in ("c", "r", "width", "height"))
        return (float(c), float(r), float(c + w), float(r + h))

    def __repr__(self) -> str:
        return (
            f"LBPFaceDetector(scale_factor={self.scale_factor}, min_size={self.min_size}, "
            f"min_neighbours={self.min_neighbours}, max_side={self.max_side})"
        )


#: training images on which FaceCrop compares detector boxes with the true points
CALIBRATION_SAMPLES = 200


class FaceCrop(_GeometricStep):
    """Crop each image to its face (a square box with a margin, inside the image).

    The face box comes from, in this order of preference:

    * at fit (``y`` given): the true keypoints' bounding box;
    * ``boxes=`` passed to ``transform`` (or to a pipeline's ``predict``/``score``,
      through scikit-learn metadata routing; ``FaceCrop`` requests ``boxes`` by
      default);
    * the ``detector``, whose boxes are calibrated at fit to look like the keypoints'
      boxes (median centre shift and size ratio over up to ``CALIBRATION_SAMPLES``
      training faces), so training and prediction crops agree;
    * the whole image, with a warning, when the detector finds no face.

    The box is grown by ``margin`` on each side, made square around its centre, rounded
    out to whole pixels (so a crop with no margin still holds every point), shifted to
    lie inside the image and, where it is still larger than the image, clipped to it.
    The keypoint map of a crop is an exact translation.

    Parameters
    ----------
    margin : float, default=0.25
        Added on each side, as a fraction of the box's larger side.
    square : bool, default=True
        Make the box square (before clipping to the image).
    detector : "lbp", callable or None, default="lbp"
        ``"lbp"``: :class:`LBPFaceDetector`. A callable takes one image and returns
        ``(x0, y0, x1, y1)`` or None. None: ``boxes`` are required after fit.

    Attributes
    ----------
    detector_calibration_ : ndarray of shape (4,) or None
        ``(dx, dy, sx, sy)``: the keypoint box's centre shift from the detector box's
        centre and its width/height, in units of the detector box's width/height.
    detector_hit_rate_ : float or None
        Share of the calibration faces the detector found.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fkd.preprocessing import FaceCrop
    >>> X = np.zeros((1, 100, 200), dtype=np.uint8)
    >>> y = np.array([[60.0, 40.0, 80.0, 60.0]])  # two points
    >>> crop = FaceCrop(margin=0.25, detector=None).fit(X, y)
    >>> crop.point_map(X, y=y).out_shapes.tolist()  # 20 px + 2 x 5 px margin, whole pixels
    [[31, 31]]
    """

    __metadata_request__transform = {"boxes": True}  # noqa: RUF012 (sklearn's convention)

    def __init__(self, margin: float = 0.25, square: bool = True, detector="lbp"):
        self.margin = margin
        self.square = square
        self.detector = detector

    def _validate(self):
        if not (isinstance(self.margin, numbers.Real) and self.margin >= 0):
            raise ValueError(f"margin must be a number >= 0, got {self.margin!r}")
        if not (self.detector is None or self.detector == "lbp" or callable(self.detector)):
            raise ValueError(f"detector must be 'lbp', a callable or None, got {self.detector!r}")

    def _detector(self) -> Callable | None:
        return LBPFaceDetector() if self.detector == "lbp" else self.detector

    def fit(self, X, y=None):
        """Calibrate the detector against the true points of (up to 200 of) ``X``.

        Parameters
        ----------
        X : images
        y : array-like of shape (n, 2K) or (n, K, 2), optional
            Needed to calibrate a detector.

        Returns
        -------
        self
        """
        self._validate()
        images = check_images(X)
        self.detector_calibration_ = None
        self.detector_hit_rate_ = None
        detector = self._detector()
        if detector is None or y is None:
            return self
        truth = _keypoint_boxes_of(y, len(images))
        usable = np.flatnonzero(~np.isnan(truth).any(axis=1))
        if len(usable) > CALIBRATION_SAMPLES:
            usable = np.random.default_rng(0).choice(usable, CALIBRATION_SAMPLES, replace=False)
        found = [(i, detector(images[i])) for i in usable]
        pairs = [(truth[i], np.asarray(box, dtype=np.float64)) for i, box in found if box]
        self.detector_hit_rate_ = len(pairs) / max(1, len(found))
        if not pairs:
            warnings.warn(
                "FaceCrop: the detector found no face in the calibration images; its boxes "
                "are used uncalibrated",
                UserWarning,
                stacklevel=2,
            )
            return self
        t, d = (np.array(a) for a in zip(*pairs, strict=True))
        d_size = d[:, 2:] - d[:, :2]
        shift = ((t[:, :2] + t[:, 2:]) - (d[:, :2] + d[:, 2:])) / 2 / d_size
        ratio = (t[:, 2:] - t[:, :2]) / d_size
        self.detector_calibration_ = np.concatenate([np.median(shift, 0), np.median(ratio, 0)])
        return self

    def _detected_boxes(self, images: list[np.ndarray], todo: np.ndarray) -> np.ndarray:
        detector = self._detector()
        if detector is None:
            raise ValueError(
                "FaceCrop(detector=None) needs boxes= (n, 4) to crop images without keypoints"
            )
        check_is_fitted(self, "detector_calibration_")
        boxes = np.full((len(images), 4), np.nan)
        for i in todo:
            box = detector(images[i])
            if box:
                boxes[i] = box
        cal = self.detector_calibration_
        if cal is not None:
            size = boxes[:, 2:] - boxes[:, :2]
            centre = (boxes[:, :2] + boxes[:, 2:]) / 2 + cal[:2] * size
            half = cal[2:] * size / 2
            boxes = np.concatenate([centre - half, centre + half], axis=1)
        missed = np.isnan(boxes[todo]).any(axis=1).sum()
        if missed:
            warnings.warn(
                f"FaceCrop: no face found in {missed} of {len(todo)} images; using the whole "
                "image for those",
                UserWarning,
                stacklevel=3,
            )
        return boxes

    def face_boxes(self, X, y=None, boxes=None) -> np.ndarray:
        """The face box of each image before margin and squaring.

        Parameters
        ----------
        X : images
        y : array-like of shape (n, 2K) or (n, K, 2), optional
            True keypoints (fit time): their bounding box.
        boxes : array-like of shape (n, 4), optional
            ``(x0, y0, x1, y1)`` per image; rows of NaN fall through to the detector.

        Returns
        -------
        ndarray of shape (n, 4), float64; NaN where no face was found
        """
        return self._face_boxes(check_images(X), y, boxes)

    def _face_boxes(self, images: list[np.ndarray], y, boxes) -> np.ndarray:
        """:meth:`face_boxes` of already validated images."""
        self._validate()
        n = len(images)
        out = np.full((n, 4), np.nan)
        if y is not None:
            out = _keypoint_boxes_of(y, n)
            out[(out[:, 2:] - out[:, :2]).max(axis=1) < 1] = np.nan  # under two points
        if boxes is not None:
            given = np.array(boxes, dtype=np.float64)
            if given.shape != (n, 4):
                raise ValueError(f"boxes must have shape ({n}, 4), got {given.shape}")
            if (given[:, 2:] <= given[:, :2]).any():
                raise ValueError("boxes must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0")
            todo = np.isnan(out).any(axis=1)
            out[todo] = given[todo]
        todo = np.flatnonzero(np.isnan(out).any(axis=1))
        if len(todo):
            out[todo] = self._detected_boxes(images, todo)[todo]
        return out

    def point_map(self, X, y=None, boxes=None) -> PointMap:
        """Translations to each crop; see :meth:`face_boxes` for the parameters."""
        images = check_images(X)
        faces = self._face_boxes(images, y, boxes)
        crops = _crop_windows(faces, _image_shapes(images), float(self.margin), bool(self.square))
        offset = -crops[:, :2].astype(np.float64)
        out_shapes = (crops[:, 2:] - crops[:, :2])[:, ::-1]
        return PointMap(np.ones_like(offset), offset, out_shapes)

    def warp(self, X, point_map: PointMap):
        """The crops: an array when they share a size, else a list."""
        crops = []
        for im, offset, (h, w) in zip(
            check_images(X), point_map.offset, point_map.out_shapes, strict=True
        ):
            x0, y0 = (-offset).astype(np.int64)
            crops.append(im[y0 : y0 + h, x0 : x0 + w].copy())
        return stack_if_uniform(crops)

    # transform/fit_transform name ``boxes`` explicitly (the base takes **params) because
    # scikit-learn's metadata routing reads the request from these signatures

    def transform(self, X, boxes=None):
        """Crops of ``X`` from ``boxes`` or the detector (see :meth:`face_boxes`)."""
        return self.warp(X, self.point_map(X, boxes=boxes))

    def fit_transform(self, X, y=None, boxes=None):
        """Fit, then crop: around the true points of ``y`` where given."""
        self.fit(X, y)
        return self.warp(X, self.point_map(X, y=y, boxes=boxes))


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


def _keypoint_boxes_of(y, n: int) -> np.ndarray:
    """:func:`keypoint_boxes`, checking that ``y`` has one row per image."""
    boxes = keypoint_boxes(y)
    if len(boxes) != n:
        raise ValueError(f"y has {len(boxes)} rows, X has {n} images")
    return boxes


def _crop_windows(faces: np.ndarray, shapes: np.ndarray, margin: float, square: bool):
    """Integer windows ``(x0, y0, x1, y1)`` (end exclusive) inside each image.

    The face box (continuous pixel coordinates) is grown by ``margin`` of its larger side
    on each side (and made square if asked); the window is the smallest run of whole
    pixels of one size per axis, ``ceil(extent) + 1``, whose cells cover it. It is then
    shifted inside the image and, where still larger, clipped to it. A NaN face takes
    the whole image.
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
