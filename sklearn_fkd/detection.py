"""Face detection: detectors that find face boxes in photos, and their calibration.

A detector is an object with ``detect(image) -> (boxes, scores)`` for every face in an
image, and ``__call__(image) -> box or None`` for the most confident one (the interface
:class:`~sklearn_fkd.preprocessing.FaceCrop` uses; any such callable works there).
Boxes are ``(x0, y0, x1, y1)`` pixel edges.

Two detectors are built in, chosen by name (:func:`make_detector`):

* ``"hog"``: dlib's HOG + linear SVM frontal face detector (``pip install
  "sklearn-fkd[dlib]"``; its weights are part of dlib). Finds faces down to about 40 px
  by searching upscaled small images; tens of milliseconds per 640x480 photo.
* ``"lbp"``: scikit-image's LBP cascade: no extra dependency, but frontal only and
  less accurate. The default fallback when dlib is missing.

``"auto"`` is ``"hog"`` when dlib is installed, else ``"lbp"``.

Detector boxes are not keypoint boxes (the LBP cascade frames the eyes to the mouth,
dlib's box the brows to the chin). :func:`box_calibration` measures how a detector's
boxes relate to the true keypoints' boxes, and :func:`calibrate_boxes` applies that
relation, so crops made from detections look like the crops a model was trained on.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .geometry import box_iou, scale_boxes
from .imaging import resize_image, to_gray
from .utils.cache import cache_dir, read_cached, write_cached
from .utils.optional import import_extra
from .utils.validation import check_images

__all__ = [
    "DETECTORS",
    "HOGFaceDetector",
    "LBPFaceDetector",
    "box_calibration",
    "box_noise",
    "calibrate_boxes",
    "detect_faces",
    "make_detector",
]


class _Detector:
    """What the detectors share: the best box of ``detect``, overlap suppression."""

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __call__(self, image: np.ndarray):
        """The most confident face ``(x0, y0, x1, y1)``, or None."""
        boxes, scores = self.detect(image)
        if not len(boxes):
            return None
        return tuple(float(v) for v in boxes[int(np.argmax(scores))])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


def _suppress_overlaps(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.3):
    """Greedy non-maximum suppression: the most confident of boxes that overlap."""
    order = np.argsort(-scores)
    keep: list[int] = []
    for i in order:
        if all(box_iou(boxes[i], boxes[j]) <= iou for j in keep):
            keep.append(int(i))
    return boxes[keep], scores[keep]


class _NativePool:
    """The detectors' native objects, lent to one thread at a time: neither dlib's
    detector nor scikit-image's cascade may be used by two threads at once (a shared
    dlib detector crashed or returned other images' boxes). Objects are made on demand
    and kept for reuse."""

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: dict[Callable[[], object], list[object]] = {}

    @contextlib.contextmanager
    def lend(self, make: Callable[[], object]):
        with self._lock:
            idle = self._idle.setdefault(make, [])
            native = idle.pop() if idle else None
        if native is None:
            native = make()
        try:
            yield native
        finally:
            with self._lock:
                self._idle[make].append(native)


_POOL = _NativePool()


def _make_lbp_cascade():
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    return Cascade(lbp_frontal_face_cascade_filename())


def _lbp_cascade():
    """An LBP cascade lent to this thread (a context manager)."""
    return _POOL.lend(_make_lbp_cascade)


class LBPFaceDetector(_Detector):
    """The frontal-face LBP cascade shipped with scikit-image (offline, CPU).

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

    Notes
    -----
    The cascade gives no confidence: each face's score is its box's area in pixels, so
    the largest face is the "most confident".
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

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every face: boxes ``(m, 4)`` and scores ``(m,)`` (the boxes' areas)."""
        grey = to_gray(np.asarray(image))
        scale = 1.0
        if self.max_side is not None and max(grey.shape) > self.max_side:
            scale = max(grey.shape) / self.max_side
            if min(grey.shape) / scale < self.min_size:
                return np.zeros((0, 4)), np.zeros(0)  # no face of the smallest size fits
            size = (round(grey.shape[1] / scale), round(grey.shape[0] / scale))  # (w, h)
            grey = resize_image(grey, size)
        grey = grey.astype(np.float32)
        if np.asarray(image).dtype == np.uint8:
            grey /= 255.0
        if min(grey.shape) < self.min_size:
            return np.zeros((0, 4)), np.zeros(0)
        with _lbp_cascade() as cascade:
            found = cascade.detect_multi_scale(
                img=grey,
                scale_factor=self.scale_factor,
                step_ratio=1,
                min_size=(self.min_size, self.min_size),
                max_size=grey.shape,
                min_neighbor_number=self.min_neighbours,
            )
        if not found:
            return np.zeros((0, 4)), np.zeros(0)
        boxes = np.array(
            [[d["c"], d["r"], d["c"] + d["width"], d["r"] + d["height"]] for d in found],
            dtype=np.float64,
        )
        boxes *= scale
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        return _suppress_overlaps(boxes, areas)


#: largest dlib detector file read from the cache (dlib's own is 155 kB)
_MAX_DETECTOR_BYTES = 16 * 2**20


def _make_dlib_hog():
    """dlib's frontal face detector, read from the cache folder
    (:func:`~sklearn_fkd.utils.cache.cache_dir`) where an earlier process saved it:
    ``dlib.get_frontal_face_detector()`` builds it from the copy inside dlib hundreds of
    times slower than the saved file is read. The file's name holds dlib's version
    and a SHA-256 of its bytes, checked before it is read; any other file is ignored and
    the detector built and saved again."""
    dlib = import_extra("dlib", "the 'hog' face detector")
    folder = cache_dir()
    prefix = f"dlib-{dlib.__version__}-frontal-face-detector-"
    for path in sorted(folder.glob(prefix + "*.svm")) if folder is not None else ():
        data = read_cached(path, _MAX_DETECTOR_BYTES)
        if data is not None and path.stem == prefix + hashlib.sha256(data).hexdigest():
            with contextlib.suppress(RuntimeError):  # dlib's error on a file it cannot read
                return dlib.fhog_object_detector(str(path))
    detector = dlib.get_frontal_face_detector()
    if folder is not None:
        # a failure to save only costs the next process the build
        with contextlib.suppress(OSError, RuntimeError), tempfile.TemporaryDirectory() as tmp:
            detector.save(str(Path(tmp) / "detector.svm"))
            data = (Path(tmp) / "detector.svm").read_bytes()
            write_cached(folder / f"{prefix}{hashlib.sha256(data).hexdigest()}.svm", data)
    return detector


def _dlib_hog():
    """A dlib HOG detector lent to this thread (a context manager)."""
    return _POOL.lend(_make_dlib_hog)


class HOGFaceDetector(_Detector):
    """dlib's frontal face detector: HOG features and a linear SVM (King 2009, 2015).

    Needs ``pip install "sklearn-fkd[dlib]"`` (dlib's weights are built into it).

    Parameters
    ----------
    min_face : int, default=40
        Smallest face side found, in pixels of the image: the image is scaled so that
        such a face fills the detector's 80-pixel window...
    max_side : int, default=640
        ...unless its longer side would then exceed ``max_side`` (the search's cost
        grows with the pixels)...
    min_search_side : int, default=1024
        ...but a photo is never searched at a longer side under this (or under its own
        size, when smaller): in a 1024-pixel photo a face of 84 pixels is still found,
        in a 1920x1080 one a face of 150. The smallest face found is ``80 / scale``
        pixels.
    threshold : float, default=0.0
        SVM score a face must exceed in :meth:`detect` (every face of a photo).
    fallback_threshold : float, default=-0.5
        The single-face call (what a ``FaceCrop`` uses) takes the best face above this
        lower score when none passes ``threshold``, so the one face of a crop is rarely
        missed (``benchmarks/bench_pipeline.py`` measures the detector's hit rate).

    Notes
    -----
    The score of a face is the SVM's margin. dlib's box frames the brows to the chin;
    a :class:`~sklearn_fkd.preprocessing.FaceCrop` calibrates it against the keypoints.
    """

    def __init__(
        self,
        min_face: int = 40,
        max_side: int = 640,
        min_search_side: int = 1024,
        threshold: float = 0.0,
        fallback_threshold: float = -0.5,
    ):
        self.min_face = min_face
        self.max_side = max_side
        self.min_search_side = min_search_side
        self.threshold = threshold
        self.fallback_threshold = fallback_threshold

    def __call__(self, image: np.ndarray):
        """The most confident face ``(x0, y0, x1, y1)`` (down to ``fallback_threshold``),
        or None."""
        boxes, scores = self._run(image, min(self.threshold, self.fallback_threshold))
        if not len(boxes):
            return None
        return tuple(float(v) for v in boxes[int(np.argmax(scores))])

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every face: boxes ``(m, 4)`` and scores ``(m,)`` (SVM margins)."""
        return self._run(image, self.threshold)

    def _run(self, image: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        arr = np.asarray(image)
        if arr.dtype != np.uint8:
            arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        if arr.ndim == 3 and arr.shape[2] != 3:
            arr = to_gray(arr[..., :3]) if arr.shape[2] >= 3 else arr[..., 0]
        # a face of min_face pixels fills the 80-pixel window, unless the longer side
        # would exceed max_side (then the smallest face found is larger); large photos
        # are not shrunk under min_search_side
        longer = max(arr.shape[:2])
        scale = min(80.0 / self.min_face, self.max_side / longer)
        scale = max(scale, min(1.0, self.min_search_side / longer))
        if scale != 1.0:
            size = (max(1, round(arr.shape[1] * scale)), max(1, round(arr.shape[0] * scale)))
            arr = resize_image(arr, size)
        with _dlib_hog() as detector:
            rects, scores, _ = detector.run(np.ascontiguousarray(arr), 0, threshold)
        if not rects:
            return np.zeros((0, 4)), np.zeros(0)
        boxes = np.array(
            [[r.left(), r.top(), r.right() + 1, r.bottom() + 1] for r in rects], dtype=np.float64
        )
        return _suppress_overlaps(boxes / scale, np.asarray(scores, dtype=np.float64))


#: the detectors by name
DETECTORS = {"hog": HOGFaceDetector, "lbp": LBPFaceDetector}


def dlib_available() -> bool:
    """Whether dlib (the ``"hog"`` detector) is installed."""
    return importlib.util.find_spec("dlib") is not None


def resolve_detector_name(detector):
    """``"auto"`` -> ``"hog"`` when dlib is installed, else ``"lbp"``; others unchanged."""
    if isinstance(detector, str) and detector == "auto":
        return "hog" if dlib_available() else "lbp"
    return detector


def make_detector(detector="auto"):
    """A detector from its name (see the module docs), or a callable as it is.

    Raises
    ------
    ValueError
        An unknown name.
    ImportError
        ``"hog"`` without dlib; the message names the extra to install.
    """
    detector = resolve_detector_name(detector)
    if callable(detector) and not isinstance(detector, str):
        return detector
    if detector not in DETECTORS:
        raise ValueError(
            f"detector must be 'auto', {', '.join(map(repr, DETECTORS))} or a callable, "
            f"got {detector!r}"
        )
    if detector == "hog":
        with _dlib_hog():  # fail now, naming the extra
            pass
    return DETECTORS[detector]()


def detect_faces(image, detector="auto") -> tuple[np.ndarray, np.ndarray]:
    """Every face in one photo, most confident first.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C), or a path
    detector : "auto", "hog", "lbp" or a detector object, default="auto"
        A detector object has ``detect(image) -> (boxes, scores)``.

    Returns
    -------
    boxes : ndarray of shape (m, 4)
        ``(x0, y0, x1, y1)`` pixel edges, as the detector frames faces (not calibrated
        to keypoint boxes).
    scores : ndarray of shape (m,)
        The detector's confidence (see each detector), in decreasing order.

    Examples
    --------
    >>> from sklearn_fkd import detect_faces
    >>> boxes, scores = detect_faces("group.jpg", detector="hog")  # doctest: +SKIP
    """
    (image,) = check_images([image] if not isinstance(image, np.ndarray) else image[None])
    found = make_detector(detector)
    if not hasattr(found, "detect"):
        raise TypeError(
            f"detect_faces needs a detector with detect(image) -> (boxes, scores); "
            f"{found!r} only returns one box"
        )
    boxes, scores = found.detect(image)
    order = np.argsort(-np.asarray(scores, dtype=np.float64))
    return np.asarray(boxes, dtype=np.float64)[order], np.asarray(scores, np.float64)[order]


def box_calibration(truth: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """How true keypoint boxes sit relative to detector boxes (medians over faces).

    Parameters
    ----------
    truth, detected : ndarray of shape (n, 4)
        ``(x0, y0, x1, y1)`` boxes of the same faces.

    Returns
    -------
    ndarray of shape (4,)
        ``(dx, dy, sx, sy)``: the keypoint box's centre shift from the detector box's
        centre and its width/height, in units of the detector box's width/height.
    """
    d_size = detected[:, 2:] - detected[:, :2]
    shift = ((truth[:, :2] + truth[:, 2:]) - (detected[:, :2] + detected[:, 2:])) / 2 / d_size
    ratio = (truth[:, 2:] - truth[:, :2]) / d_size
    return np.concatenate([np.median(shift, 0), np.median(ratio, 0)])


def calibrate_boxes(boxes: np.ndarray, calibration: np.ndarray | None) -> np.ndarray:
    """Detector boxes moved and scaled by a :func:`box_calibration` (NaN rows stay NaN).

    Parameters
    ----------
    boxes : ndarray of shape (n, 4)
    calibration : ndarray of shape (4,) or None
        None returns the boxes unchanged.

    Returns
    -------
    ndarray of shape (n, 4)
    """
    if calibration is None:
        return boxes
    size = boxes[:, 2:] - boxes[:, :2]
    return scale_boxes(boxes, calibration[2:], shift=calibration[:2] * size)


def box_noise(truth: np.ndarray, calibrated: np.ndarray) -> np.ndarray:
    """How far calibrated detector boxes scatter around the true keypoint boxes.

    Parameters
    ----------
    truth, calibrated : ndarray of shape (n, 4)

    Returns
    -------
    ndarray of shape (3,)
        Robust standard deviations (1.4826 x the median absolute deviation) of the
        centre's shift in x and y, in units of the true box's larger side, and of the
        log of the size ratio.
    """
    side = (truth[:, 2:] - truth[:, :2]).max(axis=1)
    shift = ((calibrated[:, :2] + calibrated[:, 2:]) - (truth[:, :2] + truth[:, 2:])) / 2
    shift = shift / side[:, None]
    log_scale = np.log(
        (calibrated[:, 2:] - calibrated[:, :2]).max(axis=1) / np.maximum(side, 1e-9)
    )

    def spread(v: np.ndarray) -> float:
        return float(1.4826 * np.median(np.abs(v - np.median(v))))

    return np.array([spread(shift[:, 0]), spread(shift[:, 1]), spread(log_scale)])
