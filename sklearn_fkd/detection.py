"""Face detection: detectors that find face boxes in photos, and their calibration.

A detector is any callable that takes one image and returns a face box
``(x0, y0, x1, y1)`` in pixel edges, or None. Detector boxes are not keypoint boxes:
scikit-image's LBP cascade, for one, frames the eyes to the mouth. :func:`box_calibration`
measures how a detector's boxes relate to the true keypoints' boxes, and
:func:`calibrate_boxes` applies that relation, so crops made from detections look like
the crops a model was trained on (:class:`~sklearn_fkd.preprocessing.FaceCrop` does both).
"""

from __future__ import annotations

import functools

import numpy as np

from .imaging import resize_image, to_gray

__all__ = ["LBPFaceDetector", "box_calibration", "calibrate_boxes"]


@functools.lru_cache(maxsize=1)
def _lbp_cascade():
    from skimage.data import lbp_frontal_face_cascade_filename
    from skimage.feature import Cascade

    return Cascade(lbp_frontal_face_cascade_filename())


class LBPFaceDetector:
    """The frontal-face LBP cascade shipped with scikit-image (offline, CPU).

    Called on one image, returns the largest face found as ``(x0, y0, x1, y1)`` pixel
    edges, or None. The cascade's box is tighter than the keypoints' (eyes to mouth);
    :class:`~sklearn_fkd.preprocessing.FaceCrop` calibrates it against the true points
    at fit.

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
            if min(grey.shape) / scale < self.min_size:
                return None  # no face of the smallest size searched fits
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
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2 + calibration[:2] * size
    half = calibration[2:] * size / 2
    return np.concatenate([centre - half, centre + half], axis=1)
