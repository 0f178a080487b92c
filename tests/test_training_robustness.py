"""Training robustness: interruption, checkpoints, determinism across processes, untouched
inputs, schema checks."""

import subprocess
import sys

import numpy as np
import pytest
from skorch.callbacks import Callback

from sklearn_fkd import (
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
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


def test_scoring_with_another_point_count_names_both(small_imm):
    X, y, _ = small_imm
    est = FaceKeypointRegressor(max_epochs=1, random_state=0).fit(X[:8], y[:8])
    with pytest.raises(ValueError, match=r"y has 68 points but FaceKeypointRegressor was fitted"):
        est.score(X[:8], np.zeros((8, 136)))
    pipe = make_keypoint_pipeline(Resize((20, 24)), FaceKeypointRegressor(max_epochs=1))
    pipe.fit(X[:8], y[:8])
    with pytest.raises(ValueError, match=r"y has 5 points .* on 58 \(imm58\)"):
        pipe.score(X[:8], np.zeros((8, 10)))
