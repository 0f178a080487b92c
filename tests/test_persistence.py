import pickle
import warnings

import joblib
import numpy as np
import pytest

import sklearn_fkd
from sklearn_fkd import FaceKeypointRegressor
from sklearn_fkd.persistence import ModelVersionWarning, load_model, model_info, save_model


@pytest.fixture(scope="module")
def fitted(small_imm):
    X, y, _ = small_imm
    return FaceKeypointRegressor(max_epochs=1, random_state=0).fit(X[:40], y[:40]), X[40:50]


def test_round_trip_predicts_identically_and_keeps_provenance(fitted, tmp_path):
    est, X = fitted
    path = save_model(est, tmp_path / "sub" / "m.joblib", metadata={"data": "imm"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same version: no warning
        loaded = load_model(path, device="cpu")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    info = model_info(path)
    assert info["sklearn_fkd"] == sklearn_fkd.__version__
    assert info["metadata"] == {"data": "imm"} and info["created"].startswith("20")
    assert not list(path.parent.glob("*.partial"))


def test_a_model_from_another_version_warns(fitted, tmp_path, monkeypatch):
    path = save_model(fitted[0], tmp_path / "m.joblib")
    monkeypatch.setattr(sklearn_fkd, "__version__", "9.9.9")
    with pytest.warns(ModelVersionWarning, match=r"saved by sklearn-fkd .*this is 9\.9\.9"):
        load_model(path)


@pytest.mark.parametrize(
    "content",
    [b"not a pickle at all", pickle.dumps({"weights": [1, 2]}), b""],
    ids=["text", "other-pickle", "empty"],
)
def test_a_file_that_is_not_a_model_is_refused_by_name(tmp_path, content):
    path = tmp_path / "thing.joblib"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"thing\.joblib is not a sklearn-fkd model file"):
        load_model(path)


def test_a_joblib_file_of_another_object_is_refused(tmp_path):
    path = tmp_path / "array.joblib"
    joblib.dump(np.zeros(3), path)
    with pytest.raises(ValueError, match="holds a ndarray"):
        load_model(path)


def test_missing_file_and_unpicklable_model_leave_nothing_behind(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_model(tmp_path / "nope.joblib")
    with pytest.raises((TypeError, AttributeError, pickle.PicklingError)):
        save_model(lambda x: x, tmp_path / "bad.joblib")
    assert list(tmp_path.iterdir()) == []


def test_device_change_moves_the_fitted_network(fitted):
    est = pickle.loads(pickle.dumps(fitted[0]))
    before = est.predict(fitted[1])
    est.set_params(device="cpu")
    np.testing.assert_array_equal(est.predict(fitted[1]), before)
    assert est.device_ == "cpu"
    assert next(est.module_.parameters()).device.type == "cpu"
    state = [v for s in est.optimizer_.state.values() for v in s.values() if hasattr(v, "device")]
    assert state and all(v.device.type == "cpu" for v in state)
