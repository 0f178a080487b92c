import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import GridSearchCV, GroupKFold
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit

from sklearn_fkd import (
    IMM58,
    NOSE,
    Augment,
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    NoseRegressor,
    convert_keypoints,
)
from sklearn_fkd.metrics import mean_keypoint_error

SMALL = dict(channels=(8, 16, 32), convs_per_block=1, hidden_units=32)
FAST = {
    "nose": lambda **kw: NoseRegressor(**{**SMALL, "max_epochs": 2, "random_state": 0, **kw}),
    "cnn": lambda **kw: FaceKeypointRegressor(
        **{**SMALL, "max_epochs": 2, "random_state": 0, **kw}
    ),
    "resnet18": lambda **kw: FaceKeypointRegressor(
        backbone="resnet18", **{"max_epochs": 1, "random_state": 0, **kw}
    ),
    "heatmap": lambda **kw: HeatmapKeypointEstimator(
        **{"depth": 2, "base_channels": 4, "max_epochs": 1, "random_state": 0, **kw}
    ),
}


@pytest.mark.parametrize("kind", list(FAST))
def test_fit_predict_shapes_clone_pickle(kind, small_imm):
    X, y, _ = small_imm
    est = FAST[kind]().fit(X[:48], y[:48])
    pred = est.predict(X[48:60])
    width = 2 if kind == "nose" else 116
    assert pred.shape == (12, width) and pred.dtype == np.float64 and np.isfinite(pred).all()
    assert est.schema_ is (NOSE if kind == "nose" else IMM58)
    assert est.get_params()["device"] == "auto" and est.device_ == "cpu"
    assert len(est.history) == est.max_epochs
    assert np.isfinite(est.score(X[48:60], y[48:60]))
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X[48:60]), pred)
    fresh = clone(est)
    assert not hasattr(fresh, "module_")
    assert fresh.get_params(deep=False).keys() == est.get_params(deep=False).keys()


def test_regressors_default_to_more_epochs_than_the_heatmap_estimator():
    # the small CNN needs 120 epochs on small data sets (IMM: 6.87 px at 60, 6.3 at 120)
    for est in (NoseRegressor(), FaceKeypointRegressor()):
        assert est.max_epochs == 120 and clone(est).max_epochs == 120
        assert est.get_params()["max_epochs"] == 120
        assert clone(est.set_params(max_epochs=7)).max_epochs == 7
    assert HeatmapKeypointEstimator().max_epochs == 60


def test_same_random_state_same_predictions_and_global_rng_untouched(small_imm):
    X, y, _ = small_imm
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = FAST["cnn"](augment=Augment()).fit(X[:40], y[:40]).predict(X[40:50])
    after = torch.rand(1)
    b = FAST["cnn"](augment=Augment()).fit(X[:40], y[:40]).predict(X[40:50])
    np.testing.assert_array_equal(a, b)
    assert before == after  # fitting did not consume the caller's random numbers
    c = FAST["cnn"](random_state=1).fit(X[:40], y[:40]).predict(X[40:50])
    assert not np.array_equal(a, c)


def test_nose_regressor_picks_the_nose_from_a_full_shape(small_imm):
    X, y, _ = small_imm
    nose = convert_keypoints(y, IMM58, NOSE)
    a = FAST["nose"]().fit(X[:30], y[:30]).predict(X[30:40])
    b = FAST["nose"]().fit(X[:30], nose[:30]).predict(X[30:40])
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
    assert FAST["nose"]().fit(X[:30], y[:30]).score(X[30:40], y[30:40]) < 0


def test_short_fit_on_real_imm_beats_the_mean_shape(small_imm):
    X, y, groups = small_imm
    train = groups < 33
    nose = convert_keypoints(y, IMM58, NOSE)
    est = NoseRegressor(**SMALL, max_epochs=25, random_state=0).fit(X[train], nose[train])
    model_err = mean_keypoint_error(nose[~train], est.predict(X[~train]))
    flat = X.reshape(len(X), -1)
    baseline = DummyRegressor().fit(flat[train], nose[train]).predict(flat[~train])
    base_err = mean_keypoint_error(nose[~train], baseline)
    assert model_err < 0.8 * base_err, (model_err, base_err)


def test_grid_search_with_person_groups(small_imm):
    X, y, groups = small_imm
    search = GridSearchCV(
        FAST["nose"](max_epochs=1),
        {"channels": [(4, 8), (8, 16)], "augment__rotation": [0, 20]},
        cv=GroupKFold(2),
        n_jobs=1,
    )
    search.fit(X[:60], convert_keypoints(y[:60], IMM58, NOSE), groups=groups[:60])
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(X[60:62]).shape == (2, 2)


class CountingAugment(Augment):
    """An Augment that counts the batches it sees."""

    calls = 0

    def __call__(self, images, points, flip_permutation=None):
        CountingAugment.calls += 1
        return super().__call__(images, points, flip_permutation)


class BatchCounter(Callback):
    def initialize(self):
        self.train_batches = 0
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        self.train_batches += bool(training)


def test_augmentation_touches_training_batches_only(small_imm):
    X, y, _ = small_imm
    counter = BatchCounter()
    est = FAST["cnn"](
        augment=CountingAugment(rotation=30),
        train_split=ValidSplit(4),
        callbacks=[("count", counter)],
        batch_size=8,
    )
    CountingAugment.calls = 0
    est.fit(X[:40], y[:40])
    assert CountingAugment.calls == counter.train_batches > 0  # validation batches: none
    assert "valid_loss" in est.history[-1]
    calls = CountingAugment.calls
    p1 = est.predict(X[40:48])
    np.testing.assert_array_equal(p1, est.predict(X[40:48]))
    assert CountingAugment.calls == calls  # predict never augments


def test_warm_start_and_partial_fit_continue_training(small_imm):
    X, y, _ = small_imm
    est = FAST["cnn"]().fit(X[:30], y[:30])
    state = {
        k: v.clone()
        for k, v in est.optimizer_.state_dict()["state"][0].items()
        if torch.is_tensor(v)
    }
    est.partial_fit(X[:30], y[:30])
    assert len(est.history) == 4
    assert est.optimizer_.state_dict()["state"][0]["step"] > state["step"]
    est.set_params(warm_start=True).fit(X[:30], y[:30])
    assert len(est.history) == 6
    est.set_params(warm_start=False).fit(X[:30], y[:30])
    assert len(est.history) == 2


def test_predict_checks_the_fitted_size(small_imm):
    X, y, _ = small_imm
    est = FAST["cnn"]().fit(X[:20], y[:20])
    with pytest.raises(ValueError, match="fitted on 30x40"):
        est.predict(np.zeros((2, 31, 40), np.uint8))
    with pytest.raises(TypeError, match="numeric"):
        est.predict(np.array([["a"]], dtype=object))
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        FAST["cnn"]().predict(X[:2])
