"""The prediction offset of a flip-trained network (``estimators/flip_offset.py``): measured at
the end of fit on synthetic faces whose annotations carry an offset flips cannot teach."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from sklearn_fkd import Augment
from sklearn_fkd.persistence import load_model, save_model

from .test_synthetic import EYES_NOSE, MODELS, blob_faces


@pytest.fixture(scope="module")
def faces():
    return blob_faces(160)


@pytest.mark.parametrize("kind", list(MODELS))
def test_an_annotation_offset_that_flips_cannot_teach_is_measured_and_corrected(
    kind, faces, tmp_path
):
    """Targets 1.5 px right of the blobs: a network trained on flips cannot learn that
    offset (a flipped image asks for 1.5 px left), so it predicts about 1.5 px left of
    the targets; ``correct_flip_offset`` measures the offset on the training images
    and subtracts it, and the saved model keeps it."""
    X, y = faces
    shifted = y + np.tile([1.5, 0.0], 3)
    errors = {}
    for correct in (False, True):
        est = MODELS[kind]().set_params(schema=EYES_NOSE, correct_flip_offset=correct)
        est.fit(X[:128], shifted[:128])
        errors[correct] = (est.predict(X[128:]) - shifted[128:]).reshape(-1, 3, 2).mean((0, 1))
    assert errors[False][0] < -0.8  # left of the targets, uncorrected
    assert abs(errors[True][0]) < 0.4
    assert abs(errors[True][1] - errors[False][1]) < 0.3  # y had nothing to correct
    assert -2.2 < est.prediction_offset_[0] < -0.8
    measured = est.prediction_offset_.copy()  # the public method measures as fit does
    np.testing.assert_allclose(
        est.fit_prediction_offset(X[:128], shifted[:128]).prediction_offset_, measured
    )
    with pytest.raises(ValueError, match="2 points"):
        est.fit_prediction_offset(X[:8], shifted[:8, :4])
    expected = est.predict(X[128:])
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.predict(X[128:]), expected, atol=1e-5)
    save_model(est, tmp_path / "model.fkd")
    loaded = load_model(tmp_path / "model.fkd")
    np.testing.assert_array_equal(loaded.prediction_offset_, est.prediction_offset_)
    np.testing.assert_allclose(loaded.predict(X[128:]), expected, atol=1e-4)


def test_no_offset_is_measured_without_flips(faces):
    X, y = faces
    est = (
        MODELS["cnn"]()
        .set_params(schema=EYES_NOSE, augment=Augment(flip=False), max_epochs=2)
        .fit(X[:64], y[:64])
    )
    assert np.array_equal(est.prediction_offset_, np.zeros(2))
