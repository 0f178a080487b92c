"""Per-point confidence: how peaked each point's heatmap is, from predict(...,
return_confidence=True) of a heatmap estimator, a pipeline and predict_video; regressors
say they have none. Its AUC on held-out faces is measured in
benchmarks/bench_confidence.py."""

import numpy as np
import pytest
import torch

from sklearn_fkd import (
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    load_pretrained,
    predict_video,
)
from sklearn_fkd.datasets import load_helen_afw
from sklearn_fkd.geometry import keypoint_boxes

from .conftest import data_folder


def test_a_sharp_map_is_confident_and_a_flat_one_is_not():
    est = HeatmapKeypointEstimator()
    logits = torch.zeros(1, 3, 16, 16)
    logits[0, 0, 5, 9] = 60.0  # one sharp peak
    logits[0, 2, 2, 2] = logits[0, 2, 13, 13] = 60.0  # two peaks far apart
    conf = est.point_confidence(logits)
    assert conf.shape == (1, 3)
    assert conf[0, 0] > 0.99
    offsets = np.arange(16) - 7.5  # flat: the cells within the radius of its centre
    near = (offsets[:, None] ** 2 + offsets**2 <= est.CONFIDENCE_RADIUS**2).sum()
    assert near < 40 and conf[0, 1] == pytest.approx(near / 256, abs=1e-6)
    assert conf[0, 2] < 0.01  # split: nothing near the expectation between the peaks


def test_predict_returns_the_same_points_with_their_confidence(small_imm):
    X, y, _ = small_imm
    heat = HeatmapKeypointEstimator(depth=2, base_channels=4, max_epochs=1, random_state=0,
                                    test_flip=True).fit(X[:20], y[:20])  # fmt: skip
    points, confidence = heat.predict(X[20:26], return_confidence=True)
    np.testing.assert_array_equal(points, heat.predict(X[20:26]))
    assert confidence.shape == (6, heat.n_keypoints_)
    assert ((confidence >= 0) & (confidence <= 1)).all()
    regressor = FaceKeypointRegressor(channels=(4, 8), max_epochs=1).fit(X[:20], y[:20])
    with pytest.raises(ValueError, match="FaceKeypointRegressor .* no per-point confidence"):
        regressor.predict(X[20:26], return_confidence=True)


@pytest.fixture(scope="module")
def afw_faces():
    data_folder("helen_afw_68pt")
    afw = load_helen_afw("afw")
    return [np.asarray(im) for im in afw.images[:12]], afw.keypoints[:12]


def test_a_pipeline_gives_the_confidence_of_its_last_round(afw_faces):
    images, truth = afw_faces
    model = load_pretrained("ibug68")
    boxes = keypoint_boxes(truth)
    points, confidence = model.predict(images, boxes=boxes, return_confidence=True)
    np.testing.assert_array_equal(points, model.predict(images, boxes=boxes))
    assert confidence.shape == (12, 68)
    # the lower half of each face covered: its points (jaw, mouth) are much less sure
    covered = []
    for image, box in zip(images, boxes, strict=True):
        image = image.copy()
        image[int((box[1] + box[3]) / 2) :] = 0
        covered.append(image)
    _, hidden = model.predict(covered, boxes=boxes, return_confidence=True)
    lower = list(range(3, 14)) + list(range(48, 68))  # jaw and mouth
    drop = confidence[:, lower].mean() - hidden[:, lower].mean()
    assert drop > 0.1
    assert drop > 2 * abs(confidence[:, 36:48].mean() - hidden[:, 36:48].mean())  # eyes


def test_predict_video_has_a_confidence_column_per_point(afw_faces):
    images, _ = afw_faces
    frames = [images[0]] * 3
    table = predict_video(load_pretrained("ibug68"), iter(frames))
    columns = [f"c{k}" for k in range(68)]
    assert set(columns) <= set(table.columns)
    assert table[columns].to_numpy().min() >= 0 and table[columns].to_numpy().max() <= 1
