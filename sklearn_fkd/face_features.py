"""Features of a face computed from its 68 points, as scikit-learn transformers, and the
blinks in a video's points.

* :class:`EyeAspectRatio`: the eye aspect ratio of each eye (Soukupová & Čech, "Real-Time
  Eye Blink Detection using Facial Landmarks", CVWW 2016): the two vertical lid
  distances over twice the corner-to-corner width, about 0.3 for an open eye and near 0
  for a closed one, whatever the face's size or position.
* :class:`MouthAspectRatio`: the mean of the three vertical inner-lip distances over the
  inner mouth's width, 0 for closed lips.
* :class:`HeadPose`: yaw, pitch and roll in degrees, from a 3D mean face fitted to the
  nose and eye points by least squares (:mod:`sklearn_fkd.head_pose`).
* :func:`detect_blinks`: the short dips of the eye aspect ratio in
  :func:`~sklearn_fkd.predict_video`'s table, one row per blink.

The transformers take keypoints ``(n, 136)`` (or ``(n, 68, 2)``) in the iBUG / 300-W
order of :data:`~sklearn_fkd.IBUG68` (what the shipped models predict), with NaN where a
point is missing (its feature is then NaN), so they follow a keypoint model in a
Pipeline or a :class:`~sklearn.compose.ColumnTransformer`:

.. code-block:: python

    from sklearn.pipeline import make_pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn_fkd.face_features import EyeAspectRatio

    clf = make_pipeline(EyeAspectRatio(), LogisticRegression())
    clf.fit(points, eyes_closed)        # points: (n, 136) from model.predict(photos)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .head_pose import fit_head_pose, mean_face, rotation_angles
from .keypoints import IBUG68, check_keypoints, to_points

__all__ = ["EyeAspectRatio", "HeadPose", "MouthAspectRatio", "detect_blinks"]

#: iBUG 68 indices (0-based): each eye's outer corner, upper lid (2), inner corner,
#: lower lid (2), in the order of Soukupová & Čech's p1..p6
_EYES = {"right": (36, 37, 38, 39, 40, 41), "left": (42, 43, 44, 45, 46, 47)}
#: the inner lips: left and right corners, then the three upper-lower pairs
_MOUTH_CORNERS, _MOUTH_PAIRS = (60, 64), ((61, 67), (62, 66), (63, 65))


def _ibug68_points(y) -> np.ndarray:
    """``(n, 68, 2)`` float points of ``y``, refused unless they are 68 points."""
    flat = check_keypoints(y)
    if flat.shape[1] != 2 * IBUG68.n_points:
        raise ValueError(
            f"face features need the 68 iBUG / 300-W points ({2 * IBUG68.n_points} "
            f"columns, as the ibug68 models predict), got {flat.shape[1]} columns"
        )
    return to_points(flat)


def _distance(points: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(points[:, a] - points[:, b], axis=-1)


def eye_aspect_ratio(points: np.ndarray, eye: str) -> np.ndarray:
    """The eye aspect ratio of one eye (``"right"``: points 36-41, the subject's right
    eye, on the left of the photo; ``"left"``: 42-47) of ``(n, 68, 2)`` points."""
    p1, p2, p3, p4, p5, p6 = _EYES[eye]
    vertical = _distance(points, p2, p6) + _distance(points, p3, p5)
    with np.errstate(divide="ignore", invalid="ignore"):
        return vertical / (2.0 * _distance(points, p1, p4))


class _PointFeatures(TransformerMixin, BaseEstimator):
    """Stateless transformers of 68 points into named features."""

    def fit(self, X, y=None):
        """Check ``X`` (``(n, 136)`` iBUG points); nothing is learnt. Returns ``self``."""
        self.n_features_in_ = _ibug68_points(X).shape[1] * 2
        return self

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The output columns' names."""
        check_is_fitted(self, "n_features_in_")
        return np.asarray(self._names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.allow_nan = True
        return tags


class EyeAspectRatio(_PointFeatures):
    """Each eye's aspect ratio from 68 points: ``(n, 136)`` -> ``(n, 2)``.

    Columns ``ear_right`` (the subject's right eye, points 36-41) and ``ear_left``
    (42-47). About 0.25-0.35 for open eyes, under about 0.15 for closed ones; NaN where
    an eye's points are missing or its width is zero. See :mod:`sklearn_fkd.face_features`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_fkd.face_features import EyeAspectRatio
    >>> EyeAspectRatio().fit_transform(np.zeros((1, 136))).shape
    (1, 2)
    """

    _names = ("ear_right", "ear_left")

    def transform(self, X) -> np.ndarray:
        """``(n, 2)`` float64: the right and the left eye's aspect ratio."""
        points = _ibug68_points(X)
        return np.stack([eye_aspect_ratio(points, eye) for eye in ("right", "left")], axis=1)


class MouthAspectRatio(_PointFeatures):
    """The inner mouth's aspect ratio from 68 points: ``(n, 136)`` -> ``(n, 1)``.

    Column ``mar``: the mean of the three vertical inner-lip distances (points 61-67,
    62-66, 63-65) over the inner corners' distance (60-64); 0 for closed lips, about
    0.3-0.6 for a wide open mouth.
    """

    _names = ("mar",)

    def transform(self, X) -> np.ndarray:
        """``(n, 1)`` float64."""
        points = _ibug68_points(X)
        vertical = np.mean([_distance(points, a, b) for a, b in _MOUTH_PAIRS], axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (vertical / _distance(points, *_MOUTH_CORNERS))[:, None]


class HeadPose(_PointFeatures):
    """Yaw, pitch and roll in degrees from 68 points: ``(n, 136)`` -> ``(n, 3)``.

    A 3D face (the shipped mean face, or ``face``) is fitted to the nose and eye points
    of each row by least squares under scaled orthographic projection (see
    :mod:`sklearn_fkd.head_pose` for the method and the angles' signs). NaN rows where
    fewer than six of those points are given.

    Parameters
    ----------
    face : array-like of shape (68, 3), optional
        Your own 3D face in this module's axes (``x`` to the photo's right, ``y`` down,
        ``z`` away from the camera); default: :func:`mean_face`.

    Examples
    --------
    >>> from sklearn_fkd.face_features import HeadPose
    >>> pose = HeadPose().fit(points)  # doctest: +SKIP
    >>> pose.transform(points)  # doctest: +SKIP
    array([[ 12.1,  -3.4,   1.9]])
    """

    _names = ("yaw", "pitch", "roll")

    def __init__(self, face=None):
        self.face = face

    def _face(self) -> np.ndarray:
        if self.face is None:
            return mean_face()
        face = np.asarray(self.face, dtype=np.float64)
        if face.shape != (68, 3) or not np.isfinite(face).all():
            raise ValueError(f"face must be 68 finite 3D points (68, 3), got shape {face.shape}")
        return face

    def fit(self, X, y=None):
        """Check ``X`` and ``face``; nothing is learnt. Returns ``self``."""
        self._face()
        return super().fit(X, y)

    def transform(self, X) -> np.ndarray:
        """``(n, 3)`` float64: yaw, pitch, roll in degrees."""
        rotation, *_ = fit_head_pose(_ibug68_points(X), self._face())
        return rotation_angles(rotation)


def detect_blinks(
    table: pd.DataFrame,
    *,
    drop: float = 0.3,
    max_duration: float = 0.5,
    min_frames: int = 1,
) -> pd.DataFrame:
    """The blinks in :func:`~sklearn_fkd.predict_video`'s table: short dips of the mean
    eye aspect ratio of each face.

    Parameters
    ----------
    table : pandas.DataFrame
        ``predict_video``'s output (columns ``frame``, ``time``, ``face`` and the 68
        points ``x0, y0, ... x67, y67``).
    drop : float, default=0.3
        A frame belongs to a blink when both eyes' mean ratio falls below ``(1 - drop)``
        times the face's median ratio over the clip (its open eyes): relative, so the
        same value serves narrow and wide eyes.
    max_duration : float, default=0.5
        Longest dip, in seconds, still called a blink (a blink lasts 0.1-0.4 s; longer
        closures are eyes shut, not blinks).
    min_frames : int, default=1
        Shortest dip, in frames.

    Returns
    -------
    pandas.DataFrame
        One row per blink: ``face``, ``start_frame``, ``end_frame`` (inclusive),
        ``start_time``, ``duration`` (seconds, from the first low frame to the first
        frame after), ``min_ear`` and ``open_ear`` (the face's median ratio).
    """
    if not 0 < drop < 1:
        raise ValueError(f"drop must be between 0 and 1, got {drop!r}")
    if not max_duration > 0:
        raise ValueError(f"max_duration must be positive, got {max_duration!r}")
    if not (isinstance(min_frames, int) and min_frames >= 1):
        raise ValueError(f"min_frames must be an integer >= 1, got {min_frames!r}")
    missing = {"frame", "time", "face"} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks the column(s) {sorted(missing)} of predict_video")
    columns = [f"{axis}{k}" for k in range(IBUG68.n_points) for axis in "xy"]
    columns_missing = [c for c in columns if c not in table.columns]
    if columns_missing:
        raise ValueError(f"table lacks the 68 points' columns (e.g. {columns_missing[0]!r})")
    blinks = []
    for face, rows in table.sort_values("frame").groupby("face", sort=True):
        ear = np.nanmean(EyeAspectRatio().fit_transform(rows[columns].to_numpy()), axis=1)
        open_ear = float(np.nanmedian(ear))
        low = np.flatnonzero(ear < (1 - drop) * open_ear)
        frames, times = rows["frame"].to_numpy(), rows["time"].to_numpy()
        # runs of consecutive frames (a face has one row per frame)
        breaks = np.flatnonzero(np.diff(frames[low]) != 1) + 1
        for run in np.split(low, breaks) if len(low) else []:
            start, end = run[0], run[-1]
            after = times[end + 1] if end + 1 < len(times) else times[end] + _frame_step(times)
            duration = float(after - times[start])
            if len(run) >= min_frames and duration <= max_duration:
                blinks.append(
                    {
                        "face": face,
                        "start_frame": int(frames[start]),
                        "end_frame": int(frames[end]),
                        "start_time": float(times[start]),
                        "duration": duration,
                        "min_ear": float(np.nanmin(ear[run])),
                        "open_ear": open_ear,
                    }
                )
    out = ["face", "start_frame", "end_frame", "start_time", "duration", "min_ear", "open_ear"]
    return pd.DataFrame(blinks, columns=out)


def _frame_step(times: np.ndarray) -> float:
    """The median time between frames (one frame's duration)."""
    return float(np.median(np.diff(times))) if len(times) > 1 else 0.0
