"""Hyperparameter search: scorers by name in GridSearchCV, and the Optuna search with
grouped splits, pruning, seeds and shared storage, on small real IMM faces."""

import subprocess
import sys
import textwrap

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from sklearn.model_selection import GridSearchCV, GroupKFold, GroupShuffleSplit

from sklearn_fkd import (
    IMM58,
    NOSE,
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    NoseRegressor,
    convert_keypoints,
    make_keypoint_pipeline,
)
from sklearn_fkd.metrics import (
    get_scorer,
    get_scorers,
    mean_keypoint_error,
    nme,
    normalizing_distance,
    pck,
)
from sklearn_fkd.preprocessing import Resize
from sklearn_fkd.search import OptunaSearchCV, default_search_space, open_storage

HOLDOUT = GroupShuffleSplit(1, test_size=0.25, random_state=0)


def nose(**kw):
    """A NoseRegressor that trains in a fraction of a second on 40x30 faces."""
    return NoseRegressor(
        **{"channels": (8, 16, 32), "max_epochs": 3, "random_state": 0, "augment": None, **kw}
    )


def test_get_scorers_by_name_in_a_multi_metric_grid_search(small_imm):
    X, y, groups = small_imm
    scoring = get_scorers(["neg_nme", "pck", "neg_mean_keypoint_error"])
    search = GridSearchCV(
        FaceKeypointRegressor(channels=(8, 16, 32), max_epochs=1, random_state=0),
        {"lr": [1e-3, 3e-3]},
        scoring=scoring,
        refit="neg_nme",
        cv=GroupKFold(2),
    )
    search.fit(X[:60], y[:60], groups=groups[:60])
    res = search.cv_results_
    assert {"mean_test_neg_nme", "mean_test_pck", "mean_test_neg_mean_keypoint_error"} <= set(res)
    assert np.all(res["mean_test_neg_nme"] < 0) and np.all(res["mean_test_pck"] >= 0)
    best = int(np.argmax(res["mean_test_neg_nme"]))  # refit follows the named scorer
    assert search.best_params_ == res["params"][best]
    with pytest.raises(TypeError, match="get_scorer"):
        get_scorers("neg_nme")


def test_scorer_compares_the_points_the_estimator_predicts(small_imm):
    """A nose model scored against full IMM shapes: the scorer picks the nose and, the
    nose schema having no eye pair, normalises by the eye distance of the full shapes,
    like ``score``."""
    X, y, _ = small_imm
    est = nose().fit(X[:48], y[:48])
    truth = convert_keypoints(y[48:60], IMM58, NOSE)
    pred = est.predict(X[48:60])
    eyes = normalizing_distance(y[48:60], IMM58)  # the outer eye corners
    assert get_scorer("neg_nme")(est, X[48:60], y[48:60]) == pytest.approx(
        est.score(X[48:60], y[48:60])
    )
    assert est.score(X[48:60], y[48:60]) == pytest.approx(-nme(truth, pred, NOSE, normalize=eyes))
    assert get_scorer("neg_mean_keypoint_error")(est, X[48:60], y[48:60]) == pytest.approx(
        -mean_keypoint_error(truth, pred)
    )
    assert get_scorer("pck", alpha=0.1)(est, X[48:60], y[48:60]) == pytest.approx(
        pck(truth, pred, alpha=0.1, schema=NOSE, normalize=eyes)
    )


def test_optuna_search_on_a_pipeline_with_person_groups(imm):
    pipe = make_keypoint_pipeline(Resize((30, 40)), nose())
    search = OptunaSearchCV(pipe, n_trials=3, cv=2, random_state=0, pruner=None)
    X, y, groups = imm.images[:72], imm.keypoints[:72], imm.groups[:72]
    search.fit(X, y, groups=groups)
    assert search.n_trials_ == 3 and search.n_pruned_ == 0
    assert set(search.best_params_) >= {"noseregressor__lr", "noseregressor__channels"}
    assert isinstance(search.best_params_["noseregressor__channels"], tuple)
    assert search.best_score_ == max(t.value for t in search.study_.trials)
    # cv=2 with groups: two GroupKFold splits, each scored, the trial value their mean
    trial = search.study_.best_trial
    assert {"split0_score", "split1_score"} <= set(trial.user_attrs)
    assert search.best_score_ == pytest.approx(
        np.mean([trial.user_attrs["split0_score"], trial.user_attrs["split1_score"]])
    )
    best = search.best_estimator_
    assert best.named_steps["noseregressor"].lr == search.best_params_["noseregressor__lr"]
    pred = search.predict(imm.images[72:74])
    assert pred.shape == (2, 2) and np.all((pred >= 0) & (pred < 640))  # original pixels
    assert search.score(imm.images[72:84], imm.keypoints[72:84]) == pytest.approx(
        best.score(imm.images[72:84], imm.keypoints[72:84])
    )
    # the library's scorers find the nose model inside the search and the pipeline
    px = get_scorer("neg_mean_keypoint_error")(search, imm.images[72:84], imm.keypoints[72:84])
    assert px == pytest.approx(
        -mean_keypoint_error(
            convert_keypoints(imm.keypoints[72:84], IMM58, NOSE), best.predict(imm.images[72:84])
        )
    )


@pytest.mark.parametrize("kind", ["journal", "sqlite"])
def test_pruning_stops_a_deliberately_bad_trial_early(kind, small_imm, tmp_path):
    X, y, groups = small_imm
    storage = {
        "journal": f"journal:{tmp_path / 'study.log'}",
        "sqlite": f"sqlite:///{tmp_path / 'study.db'}",
    }[kind]
    study = optuna.create_study(
        storage=open_storage(storage), study_name="s", direction="maximize"
    )
    study.enqueue_trial({"lr": 3e-3})
    study.enqueue_trial({"lr": 1e-9})  # learns nothing
    search = OptunaSearchCV(
        nose(max_epochs=6),
        {"lr": FloatDistribution(1e-9, 1e-2, log=True)},
        n_trials=2,
        cv=HOLDOUT,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0),
        storage=storage,
        study_name="s",
    )
    search.fit(X[:96], y[:96], groups=groups[:96])
    good, bad = search.study_.trials
    assert good.state == optuna.trial.TrialState.COMPLETE
    assert bad.state == optuna.trial.TrialState.PRUNED and search.n_pruned_ == 1
    assert len(good.intermediate_values) == 6 and len(bad.intermediate_values) < 6
    # the per-epoch score after the last epoch is the trial's held-out score
    assert good.intermediate_values[5] == pytest.approx(good.value)
    assert search.best_params_ == {"lr": 3e-3}
    # the study lives in the file: a new search continues it
    again = OptunaSearchCV(
        nose(),
        {"lr": FloatDistribution(1e-4, 1e-2, log=True)},
        n_trials=1,
        cv=HOLDOUT,
        storage=storage,
        study_name="s",
        refit=False,
    )
    again.fit(X[:96], y[:96], groups=groups[:96])
    assert len(again.study_.trials) == 3 and again.n_trials_ == 1


def test_same_seed_same_search(small_imm):
    X, y, groups = small_imm

    def run():
        search = OptunaSearchCV(nose(), n_trials=2, cv=HOLDOUT, random_state=7, refit=False)
        search.fit(X[:96], y[:96], groups=groups[:96])
        return [(t.params, t.value) for t in search.study_.trials]

    first, second = run(), run()
    assert first == second and first[0][0] != first[1][0]


def test_failed_fits_fail_their_trial_or_raise(small_imm):
    X, y, groups = small_imm
    space = {"loss": CategoricalDistribution(["no-such-loss"])}
    search = OptunaSearchCV(nose(), space, n_trials=1, cv=HOLDOUT)
    with pytest.warns(UserWarning, match="trial 0 failed.*no-such-loss"):
        with pytest.raises(ValueError, match="no trial completed"):
            search.fit(X[:48], y[:48], groups=groups[:48])
    with pytest.raises(ValueError, match="loss must be one of"):
        search.set_params(error_score="raise").fit(X[:48], y[:48], groups=groups[:48])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_trials": 0}, "n_trials must be a positive int"),
        ({"n_trials": None}, "give n_trials or timeout"),
        ({"cv": 1}, "at least 2 folds"),
        ({"param_space": [1, 2]}, "param_space must be"),
        ({"param_space": {"lr": (1e-3, 1e-2)}}, "Float-, Int- or CategoricalDistribution"),
        ({"storage": 3}, "storage must be"),
        ({"pruner": "mean"}, "pruner must be"),
        ({"sampler": "tpe"}, "sampler must be"),
        ({"error_score": "ignore"}, "error_score must be"),
    ],
)
def test_bad_parameters_are_named(params, match, small_imm):
    X, y, groups = small_imm
    with pytest.raises((ValueError, TypeError), match=match):
        OptunaSearchCV(nose(), **{"n_trials": 1, **params}).fit(X[:24], y[:24], groups=groups[:24])


@pytest.mark.parametrize(
    "estimator",
    [
        NoseRegressor(),
        FaceKeypointRegressor(),
        FaceKeypointRegressor(backbone="resnet18", augment=None),
        HeatmapKeypointEstimator(),
        make_keypoint_pipeline(Resize(64), HeatmapKeypointEstimator()),
    ],
    ids=["nose", "cnn", "resnet18", "heatmap", "pipeline"],
)
def test_default_search_spaces_give_settable_parameters(estimator):
    trial = optuna.create_study().ask()
    params = default_search_space(estimator)(trial)
    assert any(k.endswith("lr") for k in params)
    estimator.set_params(**params)  # every key is a real parameter
    for key, value in params.items():
        assert estimator.get_params()[key] == value
    final = estimator[-1] if hasattr(estimator, "steps") else estimator
    assert any("augment__" in k for k in params) == (final.augment is not None)


def test_no_default_space_for_other_estimators():
    from sklearn.linear_model import Ridge

    with pytest.raises(TypeError, match="no default search space for Ridge"):
        default_search_space(Ridge())


WORKER = textwrap.dedent(
    """
    import sys
    from sklearn.model_selection import GroupShuffleSplit
    from sklearn_fkd import NoseRegressor
    from sklearn_fkd.datasets import load_imm_faces
    from sklearn_fkd.preprocessing import Resize
    from sklearn_fkd.search import OptunaSearchCV
    import numpy as np

    imm = load_imm_faces(as_gray=True)
    resize = Resize((30, 40))
    X = resize.transform(imm.images[:96])
    y = resize.transform_keypoints(imm.images[:96], imm.keypoints[:96])
    est = NoseRegressor(channels=(8, 16, 32), max_epochs=2, augment=None, random_state=0)
    OptunaSearchCV(est, n_trials=2, cv=GroupShuffleSplit(1, test_size=0.25, random_state=0),
                   random_state=int(sys.argv[2]), storage=sys.argv[1], study_name="shared",
                   refit=False).fit(X, y, groups=imm.groups[:96])
    """
)


def test_two_worker_processes_share_one_study(imm, tmp_path):
    storage = f"journal:{tmp_path / 'shared.log'}"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, storage, str(seed)], stderr=subprocess.PIPE, text=True
        )
        for seed in (1, 2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    study = optuna.load_study(study_name="shared", storage=open_storage(storage))
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 4 and sorted(t.number for t in done) == [0, 1, 2, 3]
    assert len({tuple(sorted(t.params.items())) for t in done}) == 4


def test_grid_search_in_two_worker_processes(small_imm):
    """joblib's process backend (the path Dask and Ray backends build on): estimators
    and data travel to the workers pickled, results match a sequential search."""
    X, y, groups = small_imm
    grid = {"lr": [1e-3, 3e-3]}
    kwargs = dict(cv=GroupKFold(2), scoring=get_scorer("neg_nme"))
    # float32: bfloat16 sums depend on the thread count, which differs in the workers
    sequential = GridSearchCV(nose(precision="float32"), grid, n_jobs=1, **kwargs).fit(
        X[:48], y[:48], groups=groups[:48]
    )
    parallel = GridSearchCV(nose(precision="float32"), grid, n_jobs=2, **kwargs).fit(
        X[:48], y[:48], groups=groups[:48]
    )
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"],
        sequential.cv_results_["mean_test_score"],
        rtol=1e-4,
    )


def test_fitted_search_pickles(small_imm):
    import pickle

    X, y, groups = small_imm
    search = OptunaSearchCV(nose(), n_trials=1, cv=HOLDOUT, pruner=None).fit(
        X[:48], y[:48], groups=groups[:48]
    )
    again = pickle.loads(pickle.dumps(search))
    np.testing.assert_allclose(again.predict(X[48:52]), search.predict(X[48:52]))
    assert again.study_.best_trial.params == search.study_.best_trial.params


def test_an_int_cv_keeps_persons_apart_when_groups_are_given(small_imm):
    _, y, groups = small_imm
    search = OptunaSearchCV(nose(), cv=4, random_state=0)
    for train, test in search._splitter(groups).split(y, y, groups):
        assert not set(groups[train]) & set(groups[test])
    assert type(search._splitter(None)).__name__ == "KFold"
