"""An estimator's parameters (``estimators/parameters.py``): declared rules checked once at
fit by name, network hyperparameters as estimator parameters, ``augment__*``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_fkd import Augment, FaceKeypointRegressor, HeatmapKeypointEstimator

from .conftest import tiny_cnn as tiny
from .test_estimators import FAST


def test_module_hyperparameters_are_estimator_params(small_imm):
    X, y, _ = small_imm
    est = FAST["cnn"]().set_params(channels=(4, 8), kernel_size=5)
    est.fit(X[:20], y[:20])
    convs = [m for m in est.module_.features if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8] and convs[0].kernel_size == (5, 5)
    assert est.module_.head.out_channels == 58  # one soft-argmax map per point
    fc = FAST["cnn"](head="fc", hidden_units=16).fit(X[:20], y[:20])
    assert [m.out_features for m in fc.module_.head if isinstance(m, torch.nn.Linear)] == [16, 116]
    heat = FAST["heatmap"]().set_params(depth=1, base_channels=2).fit(X[:20], y[:20])
    assert heat.module_.head.in_channels == 2 and len(heat.module_.down) == 1


def test_augment_parameters_are_settable_through_the_estimator(small_imm):
    X, y, _ = small_imm
    est = FAST["cnn"]().set_params(augment__rotation=20, lr=2e-3)
    assert isinstance(est.augment, Augment) and est.augment.rotation == 20  # "auto" made explicit
    assert est.get_params()["augment__rotation"] == 20 and est.lr == 2e-3
    copy = clone(est)
    assert copy.augment.rotation == 20 and copy.augment is not est.augment
    est.fit(X[:16], y[:16])
    est.set_params(augment__rotation=0)
    assert est.augment_.rotation == 20  # the fitted copy is not changed behind its back
    with pytest.raises(ValueError, match=r"augment=Augment\(\.\.\.\) first"):
        FAST["cnn"](augment=None).set_params(augment__shift=0.1)


@pytest.mark.parametrize("epochs", [0, -1])
def test_max_epochs_below_one_is_refused(small_imm, epochs):
    X, y, _ = small_imm
    with pytest.raises(ValueError, match=rf"max_epochs must be an integer >= 1.*got {epochs}"):
        tiny(max_epochs=epochs).fit(X[:8], y[:8])


@pytest.mark.parametrize(
    "params, message",
    [({"batch_size": 0}, "batch_size must be an integer >= 1"),
     ({"batch_size": -3}, "batch_size must be an integer >= 1"),
     ({"device": "tpu"}, "device must be 'auto', 'cpu', 'cuda'"),
     ({"lr": 0.0}, "lr must be a number > 0"),
     ({"lr": "abc"}, "lr must be a number > 0"),
     ({"max_epochs": "ten"}, "max_epochs must be an integer >= 1")],
)  # fmt: skip
def test_bad_parameters_are_refused_at_fit_by_name(small_imm, params, message):
    """At fit, by name; get_params and clone (which build the default callbacks, the
    cosine schedule from lr and max_epochs among them) still work before that."""
    X, y, _ = small_imm
    est = clone(tiny(**params))
    assert all(est.get_params()[name] == value for name, value in params.items())
    with pytest.raises(ValueError, match=message):
        est.fit(X[:8], y[:8])


def test_heatmap_estimator_checks_its_parameters_once_at_fit(small_imm):
    X, y, _ = small_imm
    est = HeatmapKeypointEstimator(sigma=-1)  # stored as given
    assert est.sigma == -1
    with pytest.raises(ValueError, match="sigma must be a number > 0"):
        est.fit(X[:8], y[:8])
    assert json.dumps(est.get_params()["sigma"]) == "-1"


@pytest.mark.parametrize(
    "param",
    ["schema", "augment", "loss", "lr_schedule", "channels", "kernel_size", "head", "backbone"],
)
def test_own_parameters_are_validated_in_fit_not_set_params(param):
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 255, (4, 16, 16), dtype=np.uint8), rng.uniform(0, 15, (4, 4))
    FaceKeypointRegressor(max_epochs=1).fit(X, y)  # control: valid parameters fit this data
    est = FaceKeypointRegressor(max_epochs=1).set_params(**{param: -1})  # no error here
    with pytest.raises((ValueError, TypeError)):
        est.fit(X, y)


def test_fit_leaves_parameters_untouched():
    est = FaceKeypointRegressor(channels=(4, 8), max_epochs=1, random_state=0)
    before = {k: v for k, v in est.get_params().items() if not hasattr(v, "get_params")}
    rng = np.random.default_rng(0)
    est.fit(rng.integers(0, 255, (6, 16, 16), dtype=np.uint8), rng.uniform(0, 15, (6, 4)))
    after = {k: v for k, v in est.get_params().items() if not hasattr(v, "get_params")}
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert after[key] is value or after[key] == value, key
