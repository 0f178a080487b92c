"""Training robustness: interruption, checkpoints, determinism across processes, untouched
inputs, schema checks."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, Checkpoint
from skorch.dataset import ValidSplit

from sklearn_fkd import (
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    KeypointSchema,
    NoseRegressor,
    make_keypoint_pipeline,
)
from sklearn_fkd.preprocessing import Resize


class InterruptAt(Callback):
    """Raise KeyboardInterrupt (Ctrl-C) at the end of epoch ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


def test_ctrl_c_during_fit_keeps_the_completed_epochs(small_imm):
    X, y, _ = small_imm
    est = FaceKeypointRegressor(max_epochs=10, random_state=0, callbacks=[InterruptAt(3)])
    est.fit(X[:40], y[:40])  # skorch catches the interrupt and returns
    assert len(est.history) == 3
    pred = est.predict(X[40:45])
    assert pred.shape == (5, 116) and np.isfinite(pred).all()
    est.partial_fit(X[:40], y[:40])  # and training can go on from there
    assert len(est.history) > 3


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


DETERMINISM = """
import numpy as np
from sklearn_fkd import FaceKeypointRegressor
rng = np.random.default_rng(1)
X = rng.integers(0, 255, (40, 24, 32), dtype=np.uint8)
y = rng.uniform(0, 23, (40, 10))
est = FaceKeypointRegressor(max_epochs=3, random_state=7).fit(X, y)
np.save(__import__("sys").argv[1], est.predict(X))
"""


def test_same_random_state_same_predictions_in_two_processes(tmp_path):
    outs = [tmp_path / f"p{i}.npy" for i in range(2)]
    for out in outs:
        subprocess.run([sys.executable, "-c", DETERMINISM, str(out)], check=True, timeout=300)
    first, second = (np.load(o) for o in outs)
    np.testing.assert_array_equal(first, second)
    assert np.isfinite(first).all() and first.std() > 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: NoseRegressor(max_epochs=1, random_state=0),
        lambda: FaceKeypointRegressor(max_epochs=1, random_state=0),
        lambda: HeatmapKeypointEstimator(max_epochs=1, random_state=0),
        lambda: make_keypoint_pipeline(
            Resize((20, 24)), FaceKeypointRegressor(max_epochs=1, random_state=0)
        ),
    ],
    ids=["nose", "cnn", "heatmap", "pipeline"],
)
def test_callers_arrays_are_never_modified(small_imm, make):
    X, y, _ = small_imm
    X, y = X[:24].copy(), y[:24].copy()
    y[2, :10] = np.nan
    X_before, y_before = X.copy(), y.copy()
    est = make().fit(X, y)
    est.predict(X)
    est.score(X, y)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)  # NaN stays NaN, nothing zero-filled


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


def test_scoring_with_another_point_count_names_both(small_imm):
    X, y, _ = small_imm
    est = FaceKeypointRegressor(max_epochs=1, random_state=0).fit(X[:8], y[:8])
    with pytest.raises(ValueError, match=r"y has 68 points but FaceKeypointRegressor was fitted"):
        est.score(X[:8], np.zeros((8, 136)))
    pipe = make_keypoint_pipeline(Resize((20, 24)), FaceKeypointRegressor(max_epochs=1))
    pipe.fit(X[:8], y[:8])
    with pytest.raises(ValueError, match=r"y has 5 points .* on 58 \(imm58\)"):
        pipe.score(X[:8], np.zeros((8, 10)))
