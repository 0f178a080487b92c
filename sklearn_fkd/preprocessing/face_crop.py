"""The face crop (:class:`FaceCrop`): to the points' box at fit, to the detected
face at predict, with the detector's boxes calibrated to the training crops."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import ClassVar

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..detection import (
    DETECTORS,
    box_calibration,
    box_noise,
    calibrate_boxes,
    make_detector,
    resolve_detector_name,
)
from ..geometry import (
    PointMap,
    crop_windows,
    image_shapes,
    keypoint_boxes,
    scale_boxes,
)
from ..imaging import stack_if_uniform
from ..utils.validation import (
    AnyOf,
    Interval,
    IsCallable,
    Options,
    TupleOf,
    check_consistent_length,
    check_images,
    validate_parameters,
)
from .steps import GeometricStep

__all__ = ["FaceCrop"]


#: training images on which FaceCrop compares detector boxes with the true points
CALIBRATION_SAMPLES = 200


class FaceCrop(GeometricStep):
    """Crop each image to its face (a square box with a margin, inside the image).

    The face box comes from, in this order of preference:

    * at fit (``y`` given): the true keypoints' bounding box, moved and scaled at random
      by as much as the detector's boxes scatter around it (``jitter``), so that a model
      trained through the pipeline tolerates detector boxes;
    * ``boxes=`` passed to ``transform`` (or to a pipeline's ``predict``/``score``,
      through scikit-learn metadata routing; ``FaceCrop`` requests ``boxes`` by
      default);
    * the ``detector``, whose boxes are calibrated at fit to look like the keypoints'
      boxes (median centre shift and size ratio over up to ``CALIBRATION_SAMPLES``
      training faces), so training and prediction crops agree;
    * the whole image, with a warning, when the detector finds no face.

    As the first step of a :class:`~sklearn_fkd.pipeline.KeypointPipeline`, the crop of a
    prediction is then refined from the box of the points predicted on it, and averaged
    over crop scales, as the pipeline's ``refine`` and ``test_scales`` say.

    The box is grown by ``margin`` on each side, made square around its centre, rounded
    out to whole pixels (so a crop with no margin still holds every point), shifted to
    lie inside the image and, where it is still larger than the image, clipped to it.
    The keypoint map of a crop is an exact translation.

    Crops of different sizes come back as a list of views of the input images, not
    copies (as ``skimage.util.crop`` by default): cropping thousands of photos costs no
    memory, and the next step (grey, resize) makes the new arrays. Copy such a crop
    before writing into it. Crops that share a size are stacked into one new array.

    Parameters
    ----------
    margin : float, default=0.25
        Added on each side, as a fraction of the box's larger side.
    square : bool, default=True
        Make the box square (before clipping to the image).
    detector : "auto", "hog", "lbp", callable or None, default="auto"
        See :mod:`sklearn_fkd.detection`: ``"hog"`` is dlib's detector (``pip install
        "sklearn-fkd[dlib]"``), ``"lbp"`` scikit-image's cascade, ``"auto"`` the first
        when dlib is installed, else the second (resolved at fit as ``detector_``). A
        callable takes one image and returns ``(x0, y0, x1, y1)`` or None. None:
        ``boxes`` are required after fit.
    jitter : "auto", float or sequence of 3 floats, default="auto"
        Train-time box jitter: the standard deviation of the random shift of the box's
        centre (a fraction of its side) and of the log of its scale. ``"auto"``: the
        scatter of the calibrated detector boxes around the true ones, measured at fit
        (``detector_noise_``); none without a detector. Three values set the x shift, y
        shift and log scale apart, as ``detector_noise_`` does (e.g. a detector's
        scatter measured elsewhere). 0 turns it off.
    random_state : int or None, default=0
        Seeds the jitter (a fixed default keeps pipelines reproducible).

    Attributes
    ----------
    detector_ : str, callable or None
        The detector in use (``"auto"`` resolved).
    detector_calibration_ : ndarray of shape (4,) or None
        ``(dx, dy, sx, sy)``: the keypoint box's centre shift from the detector box's
        centre and its width/height, in units of the detector box's width/height.
    detector_hit_rate_ : float or None
        Share of the calibration faces the detector found.
    detector_noise_ : ndarray of shape (3,) or None
        :func:`~sklearn_fkd.detection.box_noise` of the calibrated detector boxes.

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
    #: the rules of the parameters, checked at fit and when a model file is read
    _parameter_constraints: ClassVar[dict] = {
        "margin": Interval(0),
        "square": Options(False, True),
        "detector": AnyOf(
            Options("auto", *DETECTORS, None),
            IsCallable(),
            what=f"one of {', '.join(map(repr, ('auto', *DETECTORS)))}, None or a callable",
        ),
        "jitter": AnyOf(
            Options("auto"),
            Interval(0),
            TupleOf(Interval(0), "numbers >= 0", length=3),
            what="'auto', a number >= 0 or three numbers >= 0 (x shift, y shift, log scale)",
        ),
    }

    def __init__(
        self,
        margin: float = 0.25,
        square: bool = True,
        detector="auto",
        jitter="auto",
        random_state: int | None = 0,
    ):
        self.margin = margin
        self.square = square
        self.detector = detector
        self.jitter = jitter
        self.random_state = random_state

    def _check_params(self):
        validate_parameters(self, self._parameter_constraints)

    def _detector(self) -> Callable | None:
        detector = getattr(self, "detector_", self.detector)
        return None if detector is None else make_detector(detector)

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
        self._check_params()
        images = check_images(X)
        self.detector_ = resolve_detector_name(self.detector)
        self.detector_calibration_ = None
        self.detector_hit_rate_ = None
        self.detector_noise_ = None
        detector = self._detector()
        if detector is None or y is None:
            return self
        check_consistent_length(X=images, y=y)
        truth = keypoint_boxes(y)
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
        truth_boxes, detected = (np.array(a) for a in zip(*pairs, strict=True))
        self.detector_calibration_ = box_calibration(truth_boxes, detected)
        calibrated = calibrate_boxes(detected, self.detector_calibration_)
        self.detector_noise_ = box_noise(truth_boxes, calibrated)
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
        boxes = calibrate_boxes(boxes, self.detector_calibration_)
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
            True keypoints (fit time): their bounding box (jittered, see ``jitter``).
        boxes : array-like of shape (n, 4), optional
            ``(x0, y0, x1, y1)`` per image; rows of NaN fall through to the detector.

        Returns
        -------
        ndarray of shape (n, 4), float64; NaN where no face was found
        """
        return self._face_boxes(check_images(X), y, boxes)

    def _face_boxes(self, images: list[np.ndarray], y, boxes) -> np.ndarray:
        """:meth:`face_boxes` of already validated images."""
        n = len(images)
        out = np.full((n, 4), np.nan)
        if y is not None:
            check_consistent_length(X=images, y=y)
            out = self._jittered(keypoint_boxes(y))
            out[(out[:, 2:] - out[:, :2]).max(axis=1) < 1] = np.nan  # under two points
        if boxes is not None:
            given = np.array(boxes, dtype=np.float64)
            if given.shape != (n, 4):
                raise ValueError(f"boxes must have shape ({n}, 4), got {given.shape}")
            if np.isinf(given).any():
                raise ValueError("boxes contain infinite values; give NaN rows for unknown faces")
            if (given[:, 2:] <= given[:, :2]).any():
                raise ValueError("boxes must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0")
            wh = image_shapes(images)[:, ::-1]
            outside = (given[:, 2:] <= -0.5).any(axis=1) | (given[:, :2] >= wh - 0.5).any(axis=1)
            if outside.any():
                i = int(np.flatnonzero(outside)[0])
                raise ValueError(
                    f"boxes[{i}] = {given[i].tolist()} lies outside image {i} "
                    f"({wh[i][0]}x{wh[i][1]} pixels): boxes are (x0, y0, x1, y1) in the "
                    "image's pixels"
                )
            todo = np.isnan(out).any(axis=1)
            out[todo] = given[todo]
        todo = np.flatnonzero(np.isnan(out).any(axis=1))
        if len(todo):
            out[todo] = self._detected_boxes(images, todo)[todo]
        return out

    def _jittered(self, boxes: np.ndarray) -> np.ndarray:
        """Training boxes moved and scaled at random by the ``jitter`` (see there)."""
        if isinstance(self.jitter, str):
            noise = getattr(self, "detector_noise_", None)
        else:
            noise = np.broadcast_to(np.asarray(self.jitter, dtype=float), (3,))
        if noise is None or not np.any(noise):
            return boxes
        rng = np.random.default_rng(self.random_state)
        side = (boxes[:, 2:] - boxes[:, :2]).max(axis=1, keepdims=True)
        shift = rng.normal(0, noise[:2], (len(boxes), 2)) * side  # drawn before the scale
        factor = np.exp(rng.normal(0, noise[2], (len(boxes), 1)))
        return scale_boxes(boxes, factor, shift=shift)

    def point_map(self, X, y=None, boxes=None) -> PointMap:
        """Translations to each crop; see :meth:`face_boxes` for the parameters."""
        images = check_images(X)
        faces = self._face_boxes(images, y, boxes)
        crops = crop_windows(faces, image_shapes(images), float(self.margin), bool(self.square))
        offset = -crops[:, :2].astype(np.float64)
        out_shapes = (crops[:, 2:] - crops[:, :2])[:, ::-1]
        return PointMap(np.ones_like(offset), offset, out_shapes)

    def warp(self, X, point_map: PointMap):
        """The crops: one new array when they share a size, else a list of views of
        the images (no copy)."""
        crops = []
        for im, offset, (h, w) in zip(
            check_images(X), point_map.offset, point_map.out_shapes, strict=True
        ):
            x0, y0 = (-offset).astype(np.int64)
            crops.append(im[y0 : y0 + h, x0 : x0 + w])
        return stack_if_uniform(crops)

    # transform/fit_transform name ``boxes`` explicitly (the base takes **params) because
    # scikit-learn's metadata routing reads the request from these signatures

    def transform(self, X, boxes=None):
        """Crops of ``X`` from ``boxes`` or the detector (see :meth:`face_boxes`)."""
        return super().transform(X, boxes=boxes)

    def fit_transform(self, X, y=None, boxes=None):
        """Fit, then crop: around the true points of ``y`` where given."""
        return super().fit_transform(X, y, boxes=boxes)
