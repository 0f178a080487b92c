"""What fit learns from ``X`` and ``y`` (``estimators/training_data.py``): images and points
checked into a dataset, missing points, rows left out, validation splits, iterators."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GroupShuffleSplit
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from sklearn_fkd import FaceKeypointRegressor, KeypointSchema

from .conftest import tiny_cnn as tiny
from .test_estimators import FAST


def test_nan_targets_are_trained_around(small_imm):
    X, y, _ = small_imm
    y = y[:48].copy()
    rng = np.random.default_rng(0)
    pts = rng.random((48, 58)) < 0.7  # 70 % of points missing, as in Kaggle's data
    y.reshape(48, 58, 2)[pts] = np.nan
    y[5] = np.nan  # a row without any point: left out with a warning
    with pytest.warns(UserWarning, match="1 of 48 training rows have no keypoint"):
        est = FAST["cnn"]().fit(X[:48], y)
    assert np.isfinite(est.history[:, "train_loss"]).all()
    assert np.isfinite(est.predict(X[48:60])).all()
    assert np.isnan(y).sum() > 0 and np.isnan(y[5]).all()  # the caller's y is unchanged


@pytest.mark.parametrize(
    "make_input, match",
    [
        (lambda X, y: ([X[0], X[1][:-1]], y[:2]), "different sizes"),
        (lambda X, y: (X[:5], y[:4]), "5 images but y has 4"),
        (lambda X, y: (X[:5, None], y[:5]), "channels first"),
        (lambda X, y: (X[:5, None, None], y[:5]), r"\(n, H, W\) or \(n, H, W, C\)"),
        (lambda X, y: (X[:5].astype(np.int64) * 4, y[:5]), "0..255"),
        (lambda X, y: (np.where(X[:5] > 100, np.nan, X[:5] / 255.0), y[:5]), "NaN or infinite"),
        (lambda X, y: (X[:0], y[:0]), "empty"),
        (lambda X, y: (X[:5], y[:5, :-1]), "even number"),
        (lambda X, y: (X[:5], np.full_like(y[:5], np.nan)), "every row"),
    ],
)
def test_bad_input_raises_value_error(small_imm, make_input, match):
    X, y, _ = small_imm
    Xb, yb = make_input(X, y)
    with pytest.raises(ValueError, match=match):
        FAST["cnn"]().fit(Xb, yb)


def test_keypoints_outside_the_images_are_refused_or_warned(small_imm):
    X, y, _ = small_imm  # 40x30 images, points in their pixels
    with pytest.raises(ValueError, match="every keypoint of y lies outside its 40x30 image"):
        tiny().fit(X[:16], y[:16] * 16)  # 640x480 coordinates with 40x30 images
    some = y[:16].copy()
    some[:4] += 100
    with pytest.warns(UserWarning, match=r"25% of the keypoints of y lie outside"):
        tiny().fit(X[:16], some)


def test_float_pixels_on_another_scale_warn(small_imm):
    X, y, _ = small_imm
    est = tiny().fit(X[:16], y[:16])  # uint8: the network sees [0, 1]
    with pytest.warns(UserWarning, match="on the scale the model was fitted on"):
        est.predict(X[16:20].astype(np.float32))  # 0..255 floats
    est.predict(X[16:20].astype(np.float32) / 255)  # the same scale: no warning


def test_early_stopping_needs_and_gets_a_validation_split(small_imm):
    X, y, groups = small_imm
    with pytest.raises(ValueError, match="monitors 'valid_loss'.*train_split=ValidSplit"):
        tiny(max_epochs=3, callbacks=[EarlyStopping()]).fit(X[:24], y[:24])
    split = ValidSplit(GroupShuffleSplit(test_size=0.25, random_state=0))
    est = tiny(max_epochs=3, callbacks=[EarlyStopping(patience=1)], train_split=split)
    est.fit(X[:24], y[:24], groups=groups[:24])
    assert all(np.isfinite(est.history[:, "valid_loss"]))


def test_dataloader_arguments_are_accepted_or_refused_by_name(small_imm):
    X, y, _ = small_imm
    est = tiny(max_epochs=2, iterator_train__num_workers=2, iterator_valid__pin_memory=False)
    est.fit(X[:16], y[:16])
    assert est.predict(X[:3]).shape == (3, 116) and len(est.history) == 2
    with pytest.raises(TypeError, match="iterator_train__colour: not an argument"):
        tiny(iterator_train__colour=2).fit(X[:16], y[:16])


def test_a_schema_whose_flip_pairs_do_not_fit_is_refused(small_imm):
    with pytest.raises(ValueError, match=r"flip pair \(0, 5\) is not a pair"):
        KeypointSchema("three", ["a", "b", "c"], flip_pairs=[(0, 5)])
    X, y, _ = small_imm
    five = KeypointSchema("five", [f"p{i}" for i in range(5)], flip_pairs=[(0, 1)])
    with pytest.raises(ValueError, match="schema 'five' has 5 points, y has 58"):
        FaceKeypointRegressor(schema=five, max_epochs=1).fit(X[:8], y[:8])


def test_all_nan_rows_are_left_out_with_a_count(small_imm):
    X, y, _ = small_imm
    y = y[:20].copy()
    y[[3, 7]] = np.nan
    with pytest.warns(UserWarning, match="2 of 20 training rows have no keypoint"):
        FaceKeypointRegressor(max_epochs=1, random_state=0).fit(X[:20], y)


def test_partial_fit_with_another_point_count_is_refused(small_imm):
    X, y, _ = small_imm
    est = FaceKeypointRegressor(max_epochs=1, random_state=0).fit(X[:8], y[:8])
    with pytest.raises(ValueError, match="y has 57 points, the estimator was fitted on 58"):
        est.partial_fit(X[:8], y[:8, :-2])
