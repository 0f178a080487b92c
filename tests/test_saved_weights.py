"""``save_params``/``load_params`` with the fit state (``estimators/saved_weights.py``), and
checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skorch.callbacks import Checkpoint
from skorch.dataset import ValidSplit

from sklearn_fkd import FaceKeypointRegressor

from .test_estimators import FAST


def test_save_and_load_params(tmp_path, small_imm):
    X, y, _ = small_imm
    est = FAST["cnn"]().fit(X[:30], y[:30])
    est.save_params(f_params=tmp_path / "w.pt", f_optimizer=tmp_path / "o.pt")
    other = FAST["cnn"](random_state=5).fit(X[:30], y[:30])
    other.load_params(f_params=tmp_path / "w.pt", f_optimizer=tmp_path / "o.pt")
    np.testing.assert_array_equal(other.predict(X[30:35]), est.predict(X[30:35]))


@pytest.mark.parametrize("use_safetensors", [False, True])
def test_save_params_and_load_params_carry_what_fit_learned(small_imm, tmp_path, use_safetensors):
    """save_params works with safetensors (the channels-last weights are written
    contiguous); load_params restores the input statistics, also into an estimator
    fitted on other data; initialize() then load_params works on a new estimator."""
    X, y, _ = small_imm
    est = FaceKeypointRegressor(max_epochs=1, random_state=0).fit(X[:40], y[:40])
    expected = est.predict(X[40:48])
    weights = tmp_path / "w.bin"
    est.save_params(f_params=weights, use_safetensors=use_safetensors)
    other = FaceKeypointRegressor(max_epochs=1, random_state=1).fit(X[:40] // 2, y[:40])
    assert not np.allclose(other.input_mean_, est.input_mean_)
    other.load_params(f_params=weights, use_safetensors=use_safetensors)
    np.testing.assert_array_equal(other.input_mean_, est.input_mean_)
    np.testing.assert_array_equal(other.predict(X[40:48]), expected)
    fresh = FaceKeypointRegressor()
    fresh.initialize()
    fresh.load_params(f_params=weights, use_safetensors=use_safetensors)
    np.testing.assert_array_equal(fresh.predict(X[40:48]), expected)
    assert fresh.image_size_ == est.image_size_ and fresh.schema_ == est.schema_


def test_checkpoint_load_best_restores_the_best_epoch(small_imm, tmp_path):
    X, y, _ = small_imm
    checkpoint = Checkpoint(monitor="valid_loss_best", dirname=str(tmp_path), load_best=True)
    est = FaceKeypointRegressor(
        max_epochs=6, lr=0.05, random_state=0, train_split=ValidSplit(4), callbacks=[checkpoint]
    ).fit(X[:48], y[:48])
    best_epoch = int(np.argmin(est.history[:, "valid_loss"])) + 1
    saved = [h["epoch"] for h in est.history if h["event_cp"]]
    assert saved[-1] == best_epoch
    weights = torch.load(tmp_path / "params.pt", weights_only=True)  # weights only
    for name, value in est.module_.state_dict().items():
        if name == "fit_state.prediction_offset":  # measured after the best is restored
            continue
        torch.testing.assert_close(value.cpu(), weights[name].cpu())
    assert est.prediction_offset_.any()  # ... on the best epoch's network
