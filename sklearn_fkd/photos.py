"""Every face in a photo: detection, then the keypoints of each face."""

from __future__ import annotations

import copy

import numpy as np

from .detection import calibrate_boxes, detect_faces, make_detector
from .utils.validation import check_images

__all__ = ["predict_faces"]


def face_crop_of(model, caller: str):
    """The fitted :class:`~sklearn_fkd.preprocessing.FaceCrop` that starts ``model``.

    Raises
    ------
    ValueError
        ``model`` is not a fitted pipeline starting with one (the message names
        ``caller``, the function that needs it).
    """
    steps = getattr(model, "steps", None)
    crop = steps[0][1] if steps else None
    if crop is None or not hasattr(crop, "detector_calibration_"):
        raise ValueError(
            f"{caller} needs a fitted KeypointPipeline whose first step is a FaceCrop "
            f"(it crops each face for the model, e.g. load_pretrained's), got "
            f"{type(model).__name__}"
        )
    return crop


def predict_faces(model, image, detector=None, min_score: float | None = None):
    """The keypoints of every face in one photo, in its pixels.

    Parameters
    ----------
    model : fitted KeypointPipeline whose first step is a FaceCrop
        E.g. :func:`sklearn_fkd.load_pretrained`'s, or one trained with the command line.
    image : ndarray of shape (H, W) or (H, W, C), or a path
    detector : "hog", "lbp" or a detector object, optional
        Default: the model's own (its ``FaceCrop.detector_``), whose boxes it calibrated.
        Another detector's boxes are used uncalibrated.
    min_score : float, optional
        Keep the faces the detector scores at least this. The model's own detector,
        when it has a score threshold (the HOG detector's is 0), searches down to it:
        lower finds turned faces, and more false ones.

    Returns
    -------
    points : list of ndarray of shape (K, 2)
        One per face, most confident face first (empty when there is none).
    boxes : ndarray of shape (m, 4)
        Each face's detector box ``(x0, y0, x1, y1)``, in the same order.
    scores : ndarray of shape (m,)

    Examples
    --------
    >>> from sklearn_fkd import load_pretrained, predict_faces
    >>> model = load_pretrained("ibug68")  # doctest: +SKIP
    >>> faces, boxes, scores = predict_faces(model, "group.jpg")  # doctest: +SKIP
    """
    crop = face_crop_of(model, "predict_faces")
    (photo,) = check_images([image] if not isinstance(image, np.ndarray) else image[None])
    own = detector is None
    finder = make_detector(crop.detector_ if own else detector)
    if min_score is not None and own and hasattr(finder, "threshold"):
        finder = copy.copy(finder)  # the model's detector, searching down to min_score
        finder.threshold = min_score
    boxes, scores = detect_faces(photo, finder)
    if min_score is not None:
        keep = scores >= min_score
        boxes, scores = boxes[keep], scores[keep]
    if not len(boxes):
        return [], boxes, scores
    face_boxes = calibrate_boxes(boxes, crop.detector_calibration_) if own else boxes
    points = model.predict([photo] * len(boxes), boxes=face_boxes)
    return list(points.reshape(len(boxes), -1, 2)), boxes, scores
