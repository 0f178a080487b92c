"""The library's skorch callbacks."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sklearn_fkd import FaceKeypointRegressor
from sklearn_fkd.callbacks import WeightAveraging


def test_weight_averaging_follows_the_ema_formula_and_ends_with_the_average():
    module = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.BatchNorm1d(1))
    net = SimpleNamespace(module_=module)
    start = {k: v.clone() for k, v in module.state_dict().items()}
    ema = WeightAveraging(decay=0.9)
    ema.on_train_begin(net)
    expected = start["0.weight"].clone()
    for step in range(1, 31):
        with torch.no_grad():
            module[0].weight.add_(1.0)  # a training step
        module[1].num_batches_tracked += 1
        ema.on_batch_end(net, training=True)
        ema.on_batch_end(net, training=False)  # validation batches do not count
        decay = min(0.9, (1 + step) / (10 + step))
        expected = decay * expected + (1 - decay) * module[0].weight.detach()
    raw = module[0].weight.detach().clone()
    ema.on_train_end(net)
    torch.testing.assert_close(module[0].weight.detach(), expected)
    assert not torch.allclose(module[0].weight.detach(), raw)  # the average, not the last
    assert int(module[1].num_batches_tracked) == 30  # integer buffers: copied
    assert not hasattr(ema, "average_")  # nothing left behind to pickle


def test_weight_averaging_in_fit_changes_the_weights_and_pickles(small_imm):
    X, y, _ = small_imm
    kw = {"max_epochs": 2, "lr": 0.01, "random_state": 0}
    plain = FaceKeypointRegressor(**kw).fit(X[:32], y[:32])
    averaged = FaceKeypointRegressor(**kw, callbacks=[("ema", WeightAveraging(0.9))])
    averaged.fit(X[:32], y[:32])
    diffs = [
        (a - b).abs().max().item()
        for a, b in zip(plain.module_.parameters(), averaged.module_.parameters(), strict=True)
    ]
    assert max(diffs) > 1e-6
    pred = pickle.loads(pickle.dumps(averaged)).predict(X[32:36])
    np.testing.assert_allclose(pred, averaged.predict(X[32:36]), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5])
def test_weight_averaging_refuses_a_decay_outside_0_1(small_imm, decay):
    X, y, _ = small_imm
    est = FaceKeypointRegressor(max_epochs=1, callbacks=[("ema", WeightAveraging(decay))])
    with pytest.raises(ValueError, match="decay"):
        est.fit(X[:8], y[:8])


def test_fit_shows_progress_on_a_terminal_and_stays_quiet_elsewhere(capsys, monkeypatch):
    """progress="auto" draws an epoch bar when stderr is a terminal (not under pytest's
    capture), True always, False never; a caller's own "progress" callback replaces it."""
    import sys

    from sklearn_fkd.callbacks import EpochProgressBar

    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (8, 24, 24), dtype=np.uint8)
    y = rng.uniform(4, 20, (8, 2))

    def fit(**kw) -> str:
        FaceKeypointRegressor(channels=(4, 8), max_epochs=2, augment=None, **kw).fit(X, y)
        return capsys.readouterr().err

    assert "fitting FaceKeypointRegressor" not in fit()  # "auto", not a terminal
    assert "2/2" in fit(progress=True)
    assert fit(progress=False) == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert "fitting FaceKeypointRegressor" in fit()  # "auto" on a terminal
    mine = fit(progress=True, callbacks=[("progress", EpochProgressBar("mine"))])
    assert "mine" in mine and "fitting" not in mine
    with pytest.raises(ValueError, match="progress must be one of"):
        fit(progress="loud")
