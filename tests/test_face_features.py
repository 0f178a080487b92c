"""Eye and mouth aspect ratios as transformers, and blinks in a video's points."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklearn_fkd.face_features import EyeAspectRatio, MouthAspectRatio, detect_blinks

from .conftest import data_folder


def eyes(open_height: float, n: int = 1) -> np.ndarray:
    """68 points with both eyes 4 wide and their lids ``open_height`` above and below
    the corners' line, the mouth's inner lips closed."""
    points = np.zeros((n, 68, 2))
    for start, x0 in ((36, 10.0), (42, 20.0)):
        corners_and_lids = [(0, 0), (1, open_height), (3, open_height), (4, 0),
                            (3, -open_height), (1, -open_height)]  # fmt: skip
        points[:, start : start + 6] = np.array(corners_and_lids) + np.array([x0, 30.0])
    points[:, 60:68] = [[0, 50], [1, 50], [2, 50], [3, 50], [4, 50], [3, 50], [2, 50], [1, 50]]
    return points.reshape(n, -1)


def test_the_ratios_of_known_shapes():
    np.testing.assert_allclose(EyeAspectRatio().fit_transform(eyes(1.0)), [[0.5, 0.5]])
    np.testing.assert_allclose(EyeAspectRatio().fit_transform(eyes(0.1)), [[0.05, 0.05]])
    np.testing.assert_allclose(MouthAspectRatio().fit_transform(eyes(1.0)), [[0.0]])
    opened = eyes(1.0).reshape(1, 68, 2)
    opened[0, 61:64, 1] -= 1.0  # the upper inner lip 1 up, the mouth 4 wide
    np.testing.assert_allclose(MouthAspectRatio().fit_transform(opened), [[0.25]])
    est = EyeAspectRatio().fit(eyes(1.0))
    assert list(est.get_feature_names_out()) == ["ear_right", "ear_left"]
    assert list(MouthAspectRatio().fit(eyes(1.0)).get_feature_names_out()) == ["mar"]


def test_missing_points_give_nan_and_other_schemas_are_refused():
    points = eyes(1.0).reshape(1, 68, 2)
    points[0, 37] = np.nan  # a right-eye lid point
    ear = EyeAspectRatio().fit_transform(points)
    assert np.isnan(ear[0, 0]) and ear[0, 1] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="68 iBUG"):
        EyeAspectRatio().fit_transform(np.zeros((2, 30)))


def test_open_eyes_of_real_faces_and_a_classifier_on_the_ratio():
    data_folder("helen_afw_68pt")
    from sklearn_fkd.datasets import load_helen_afw

    afw = load_helen_afw("afw")
    ear = EyeAspectRatio().fit_transform(afw.keypoints)
    assert 0.2 < np.nanmedian(ear) < 0.4  # open eyes in the wild
    closed = afw.keypoints.reshape(-1, 68, 2).copy()
    for lids, line in (((37, 38, 40, 41), (36, 39)), ((43, 44, 46, 47), (42, 45))):
        middle = closed[:, line].mean(axis=1, keepdims=True)
        closed[:, lids] = middle + 0.1 * (closed[:, lids] - middle)  # lids shut
    X = np.concatenate([afw.keypoints, closed.reshape(len(closed), -1)])
    y = np.r_[np.zeros(len(afw.keypoints)), np.ones(len(closed))]
    clf = make_pipeline(EyeAspectRatio(), LogisticRegression()).fit(X[::2], y[::2])
    assert clf.score(X[1::2], y[1::2]) > 0.95


def test_blinks_are_short_dips_of_the_eye_ratio():
    fps, n = 30.0, 90
    heights = np.full(n, 1.0)
    heights[20:25] = 0.1  # a blink of 5 frames (0.17 s)
    heights[60:80] = 0.1  # eyes shut for 0.67 s: not a blink
    points = np.concatenate([eyes(h) for h in heights])
    points += np.random.default_rng(0).normal(0, 0.02, points.shape)
    table = pd.DataFrame(points, columns=[f"{a}{k}" for k in range(68) for a in "xy"])
    table.insert(0, "frame", np.arange(n))
    table.insert(1, "time", np.arange(n) / fps)
    table.insert(2, "face", 0)
    blinks = detect_blinks(table)
    assert len(blinks) == 1
    blink = blinks.iloc[0]
    assert (blink.start_frame, blink.end_frame) == (20, 24)
    assert blink.duration == pytest.approx(5 / fps)
    assert blink.min_ear < 0.1 < 0.4 < blink.open_ear
    assert len(detect_blinks(table, max_duration=1.0)) == 2
    with pytest.raises(ValueError, match="drop"):
        detect_blinks(table, drop=1.5)
    with pytest.raises(ValueError, match="x0"):
        detect_blinks(table[["frame", "time", "face"]])
