"""The declared parameter rules (``_parameter_constraints``) and the one validator, as
the face crop, the augmentation and the search declare them."""

from __future__ import annotations

import numpy as np
import pytest

from sklearn_fkd import Augment
from sklearn_fkd.preprocessing import FaceCrop
from sklearn_fkd.utils.validation import (
    AnyOf,
    Interval,
    IsCallable,
    IsNumber,
    Options,
    TupleOf,
    validate_parameters,
)


def test_the_rules_accept_and_refuse_as_declared():
    jitter = AnyOf(
        Options("auto"), Interval(0), TupleOf(Interval(0), "numbers", length=3), what="a jitter"
    )
    for good in ("auto", 0.1, 0, (0.1, 0.2, 0.3), [0, 0, 0], np.array([0.1, 0.1, 0.1])):
        assert jitter.check(good, "jitter") is good
    for bad in ("wild", -1, (0.1, 0.2), (0.1, -0.2, 0.3), None):
        with pytest.raises(ValueError, match="jitter must be a jitter"):
            jitter.check(bad, "jitter")
    assert IsCallable().check(len, "f") is len
    with pytest.raises(TypeError, match="f must be callable"):
        IsCallable().check(3, "f")
    assert np.isnan(IsNumber().check(np.nan, "score"))  # scikit-learn's error_score
    for bad in (True, "1", None):
        with pytest.raises(TypeError, match="score must be a number"):
            IsNumber().check(bad, "score")


def test_one_validator_names_the_first_broken_parameter_with_its_prefix():
    class Thing:
        a, b = 1, -2

    rules = {"a": Interval(0), "b": Interval(0)}
    with pytest.raises(ValueError, match=r"^Thing\.b must be a number >= 0, got -2$"):
        validate_parameters(Thing(), rules, prefix="Thing.")


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"margin": -0.1}, "margin must be a number >= 0"),
        ({"detector": "yolo"}, "detector must be one of 'auto', 'hog', 'lbp', None or a callable"),
        ({"jitter": (0.1, 0.1)}, "jitter must be 'auto', a number >= 0 or three numbers"),
        ({"square": "yes"}, "square must be one of False, True"),
    ],
)
def test_face_crop_declares_its_rules(params, match):
    X, y = np.zeros((2, 40, 40), np.uint8), np.full((2, 4), 20.0)
    crop = FaceCrop(detector=None).set_params(**params)  # stored as given
    with pytest.raises(ValueError, match=match):
        crop.fit(X, y)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"rotation": -5}, r"Augment\.rotation must be a number >= 0"),
        ({"scale": 1.0}, r"Augment\.scale must be a number >= 0 and < 1"),
        ({"occlusion": 1.5}, r"Augment\.occlusion must be a number >= 0 and <= 1"),
        ({"padding_mode": "wrap"}, r"Augment\.padding_mode must be one of"),
    ],
)
def test_augment_declares_its_rules(params, match):
    with pytest.raises(ValueError, match=match):
        Augment(**params).validate()
    Augment().validate()  # the defaults pass


def test_the_search_declares_its_rules():
    pytest.importorskip("optuna")
    from sklearn_fkd import NoseRegressor
    from sklearn_fkd.search import OptunaSearchCV

    X, y = np.zeros((4, 16, 16), np.uint8), np.full((4, 2), 8.0)
    for params, match in [
        ({"n_trials": 0}, "n_trials must be a positive int or None"),
        ({"timeout": -1}, "timeout must be a positive number or None"),
        ({"error_score": "ignore"}, "error_score must be 'raise' or a number"),
        ({"n_trials": None}, "give n_trials or timeout"),
    ]:
        with pytest.raises(ValueError, match=match):
            OptunaSearchCV(NoseRegressor(max_epochs=1), **params).fit(X, y)
