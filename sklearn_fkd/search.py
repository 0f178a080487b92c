"""Hyperparameter search with Optuna: define-by-run search spaces, person-grouped
cross-validation and epoch-level pruning of bad trials.

Grid search needs nothing from this module: scikit-learn's ``GridSearchCV`` takes the
estimators and keypoint pipelines as they are, with
:func:`sklearn_fkd.metrics.get_scorers` for scorers by name (see ``docs/search.rst``).

Why a class of our own rather than ``optuna_integration.OptunaSearchCV``: that class
prunes by calling ``partial_fit`` once per step, which for a skorch network runs
``max_epochs`` epochs per call and restarts the learning-rate schedule each time, and
its search spaces are fixed distributions (no tuples such as conv widths, no
conditional parameters). :class:`OptunaSearchCV` here trains each candidate with one
ordinary ``fit``, scores the held-out fold after every epoch from a skorch callback,
and lets Optuna's pruner stop the fit there. Its spaces are Optuna's define-by-run
functions ``trial -> {param: value}``.
"""

from __future__ import annotations

import time
import warnings
from functools import partial
from numbers import Integral
from typing import ClassVar

import numpy as np
import optuna
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.model_selection import GroupKFold, KFold
from sklearn.utils import _safe_indexing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .callbacks import HeldOutScore
from .estimators import FaceKeypointRegressor, HeatmapKeypointEstimator, NoseRegressor
from .metrics import get_scorer
from .utils.meta import final_estimator
from .utils.validation import (
    AnyOf,
    Interval,
    IsNumber,
    Options,
    check_consistent_length,
    validate_parameters,
)

__all__ = ["OptunaSearchCV", "default_search_space", "open_storage"]


# -- search spaces -------------------------------------------------------------------

#: conv widths of the small CNN, as multiples of its first block's width
_CNN_WIDTH_PATTERN = (1, 2, 4, 8, 8)


def _common_space(trial, *, prefix: str, augment: bool) -> dict:
    params = {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [8, 16, 32]),
        "optimizer__weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True),
    }
    if augment:
        params["augment__rotation"] = trial.suggest_float("augment__rotation", 0.0, 20.0)
        params["augment__shift"] = trial.suggest_float("augment__shift", 0.0, 0.1)
        params["augment__scale"] = trial.suggest_float("augment__scale", 0.0, 0.1)
    return {prefix + k: v for k, v in params.items()}


def _cnn_space(trial, *, prefix: str, augment: bool) -> dict:
    width = trial.suggest_categorical("width", [8, 16, 32])
    params = {
        "channels": tuple(width * m for m in _CNN_WIDTH_PATTERN),
        "kernel_size": trial.suggest_categorical("kernel_size", [3, 5]),
    }
    return _common_space(trial, prefix=prefix, augment=augment) | {
        prefix + k: v for k, v in params.items()
    }


def _heatmap_space(trial, *, prefix: str, augment: bool) -> dict:
    params = {
        "depth": trial.suggest_int("depth", 2, 4),
        "base_channels": trial.suggest_categorical("base_channels", [8, 16, 32]),
        "sigma": trial.suggest_float("sigma", 1.0, 3.0),
        "js_weight": trial.suggest_float("js_weight", 0.1, 10.0, log=True),
    }
    return _common_space(trial, prefix=prefix, augment=augment) | {
        prefix + k: v for k, v in params.items()
    }


def default_search_space(estimator):
    """The search space this library suggests for an estimator or keypoint pipeline.

    Every estimator: ``lr`` (1e-4 to 1e-2, log), ``batch_size`` (8, 16, 32), AdamW's
    ``weight_decay`` (1e-6 to 0.1, log) and, unless ``augment=None``, the augmentation's
    ``rotation`` (0 to 20 degrees), ``shift`` and ``scale`` (0 to 10 %). The small CNN
    (``NoseRegressor``, ``FaceKeypointRegressor(backbone="cnn")``) adds its width (first
    block 8, 16 or 32 channels, then x2, x4, x8, x8) and ``kernel_size`` (3, 5);
    ``HeatmapKeypointEstimator`` adds ``depth`` (2 to 4), ``base_channels`` (8, 16, 32),
    ``sigma`` (1 to 3 px) and ``js_weight`` (0.1 to 10, log).

    Parameters
    ----------
    estimator : keypoint estimator or KeypointPipeline ending in one

    Returns
    -------
    space : callable ``(optuna.Trial) -> dict``
        Maps a trial to the estimator parameters (pipeline-prefixed, e.g.
        ``"noseregressor__lr"``) to set. Picklable.
    """
    prefix, final = final_estimator(estimator)
    augment = getattr(final, "augment", None) is not None
    if isinstance(final, HeatmapKeypointEstimator):
        return partial(_heatmap_space, prefix=prefix, augment=augment)
    if isinstance(final, NoseRegressor) or (
        isinstance(final, FaceKeypointRegressor) and final.backbone == "cnn"
    ):
        return partial(_cnn_space, prefix=prefix, augment=augment)
    if isinstance(final, FaceKeypointRegressor):
        return partial(_common_space, prefix=prefix, augment=augment)
    raise TypeError(
        f"no default search space for {type(final).__name__}; pass param_space, a dict of "
        "optuna distributions or a function trial -> params"
    )


def _suggest_from(trial, distributions: dict) -> dict:
    """Suggest every ``{param: optuna distribution}`` entry under its own name."""
    params = {}
    for name, dist in distributions.items():
        if isinstance(dist, optuna.distributions.FloatDistribution):
            params[name] = trial.suggest_float(
                name, dist.low, dist.high, log=dist.log, step=dist.step
            )
        elif isinstance(dist, optuna.distributions.IntDistribution):
            params[name] = trial.suggest_int(
                name, dist.low, dist.high, log=dist.log, step=dist.step
            )
        elif isinstance(dist, optuna.distributions.CategoricalDistribution):
            params[name] = trial.suggest_categorical(name, list(dist.choices))
        else:
            raise TypeError(
                f"param_space[{name!r}] must be an optuna Float-, Int- or "
                f"CategoricalDistribution, got {type(dist).__name__}"
            )
    return params


# -- storage -------------------------------------------------------------------------


def open_storage(storage):
    """An Optuna storage from what a user passes.

    Parameters
    ----------
    storage : None, str or optuna storage
        None: in memory (the study ends with the process). ``"journal:PATH"``: Optuna's
        journal file at ``PATH``, which several processes on one machine can share
        (file locks, no database needed). Any other string is a database URL for
        Optuna's RDB storage: ``"sqlite:///study.db"`` works out of the box;
        ``"postgresql://user:pass@host/db"`` or ``"mysql+pymysql://..."`` share a study
        between machines (with that database's Python driver installed). A storage
        object is returned unchanged.
    """
    if isinstance(storage, str) and storage.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        path = storage.removeprefix("journal:")
        if not path:
            raise ValueError("storage='journal:PATH' needs a file path after 'journal:'")
        return JournalStorage(JournalFileBackend(path))
    if storage is None or isinstance(storage, (str, optuna.storages.BaseStorage)):
        return storage
    raise TypeError(
        f"storage must be None, a URL string, 'journal:PATH' or an optuna storage, got "
        f"{type(storage).__name__}"
    )


# -- the search ----------------------------------------------------------------------


def _passthrough_score(estimator, X, y) -> float:
    """The estimator's own ``score``: the search's default scorer."""
    return estimator.score(X, y)


def _make_pruner(pruner):
    if pruner is None:
        return optuna.pruners.NopPruner()
    if isinstance(pruner, str) and pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    raise TypeError(f"pruner must be 'median', None or an optuna pruner, got {pruner!r}")


class OptunaSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Tune a keypoint estimator or pipeline with Optuna, pruning bad trials per epoch.

    Each trial draws parameters from ``param_space``, fits the estimator on every
    training split of ``cv`` and is scored on the held-out splits (mean, greater is
    better). On the first split, the held-out score is also computed after every epoch
    and reported to Optuna, whose ``pruner`` may stop the trial there: a trial that is
    worse than the median of earlier trials at the same epoch costs a fraction of a full
    one.

    Parameters
    ----------
    estimator : keypoint estimator or KeypointPipeline
        Cloned for every fit.
    param_space : None, dict or callable, default=None
        None: :func:`default_search_space` of the estimator. A dict maps parameter names
        (pipeline-prefixed where needed) to ``optuna.distributions`` objects. A callable
        ``space(trial) -> dict`` suggests values with Optuna's ``trial.suggest_*`` and
        returns the parameters to set (define-by-run: tuples, conditional parameters).
    n_trials : int or None, default=20
        Trials run by this ``fit`` (as ``study.optimize``; with a shared storage each
        worker runs its own ``n_trials``). None runs until ``timeout``.
    timeout : float or None, default=None
        Seconds after which no new trial starts.
    cv : int or cross-validation splitter, default=3
        An int k: ``GroupKFold(k)`` when ``groups`` are given to ``fit`` (persons kept
        apart: the advice for IMM and YouTube Faces), else ``KFold(k, shuffle=True)``.
        Or any splitter, e.g. ``GroupShuffleSplit(1, test_size=0.25)`` for one holdout.
    scoring : None, str or callable, default=None
        None: the estimator's own ``score`` (negative NME in the caller's pixels, the
        image diagonal normalising a nose). Or a name from
        :func:`sklearn_fkd.metrics.get_scorer_names` or scikit-learn's, or a scorer
        ``(estimator, X, y) -> float``; greater is better.
    pruner : "median", None or optuna pruner, default="median"
        ``"median"``: ``MedianPruner(n_startup_trials=5, n_warmup_steps=2)``; None: no
        pruning and no per-epoch scoring.
    sampler : None or optuna sampler, default=None
        None: ``TPESampler(seed=random_state)``. Any other Optuna sampler
        (``RandomSampler``, ``GridSampler``, ``CmaEsSampler``...) is used as given.
    random_state : int or None, default=None
        Seeds the default TPE sampler and the ``KFold`` shuffle. Seed the estimator's own
        ``random_state`` too for reproducible fits. Give each worker sharing a study a
        different seed, or they draw the same candidates.
    storage : None, str or optuna storage, default=None
        Where the study lives (see :func:`open_storage`): ``"sqlite:///study.db"``,
        ``"journal:study.log"`` or a database URL let a study resume and let several
        processes or machines work on it at once.
    study_name : str or None, default=None
        Name of the study in ``storage``; an existing study of that name is continued.
    refit : bool, default=True
        Refit the best parameters on all of ``X`` as ``best_estimator_``.
    error_score : "raise" or float, default=np.nan
        A fit that raises fails its trial with a warning (NaN), or is re-raised.
    verbose : int, default=0
        0 silences Optuna's per-trial log lines during ``fit``.

    Attributes
    ----------
    study_ : optuna.Study
        All trials; ``study_.trials_dataframe()`` tabulates them.
    best_trial_ : optuna.trial.FrozenTrial
    best_params_ : dict
        Estimator parameters of the best trial.
    best_score_ : float
        Its mean held-out score.
    best_estimator_ : estimator
        Refitted on all data (``refit=True``).
    n_trials_ : int
        Trials run by the last ``fit``; ``n_pruned_`` of them were pruned.
    scorer_ : callable
    refit_time_ : float
        Seconds to refit the best estimator.
    """

    def __init__(
        self,
        estimator,
        param_space=None,
        *,
        n_trials: int | None = 20,
        timeout: float | None = None,
        cv=3,
        scoring=None,
        pruner="median",
        sampler=None,
        random_state: int | None = None,
        storage=None,
        study_name: str | None = None,
        refit: bool = True,
        error_score=np.nan,
        verbose: int = 0,
    ):
        self.estimator = estimator
        self.param_space = param_space
        self.n_trials = n_trials
        self.timeout = timeout
        self.cv = cv
        self.scoring = scoring
        self.pruner = pruner
        self.sampler = sampler
        self.random_state = random_state
        self.storage = storage
        self.study_name = study_name
        self.refit = refit
        self.error_score = error_score
        self.verbose = verbose

    # -- checks ----------------------------------------------------------------------

    #: the rules of the parameters, checked at fit (how n_trials and timeout relate is
    #: checked after them)
    _parameter_constraints: ClassVar[dict] = {
        "n_trials": AnyOf(Options(None), Interval(1, integer=True), what="a positive int or None"),
        "timeout": AnyOf(
            Options(None), Interval(0, low_inclusive=False), what="a positive number or None"
        ),
        "error_score": AnyOf(Options("raise"), IsNumber(), what="'raise' or a number"),
    }

    def _check_params(self):
        validate_parameters(self, self._parameter_constraints)
        if self.n_trials is None and self.timeout is None:
            raise ValueError("give n_trials or timeout, or the search never ends")

    def _space(self):
        if self.param_space is None:
            return default_search_space(self.estimator)
        if isinstance(self.param_space, dict):
            return partial(_suggest_from, distributions=self.param_space)
        if callable(self.param_space):
            return self.param_space
        raise TypeError(
            "param_space must be None, a dict of optuna distributions or a callable "
            f"trial -> params, got {type(self.param_space).__name__}"
        )

    def _sampler(self):
        if self.sampler is None:
            return optuna.samplers.TPESampler(seed=self.random_state)
        if isinstance(self.sampler, optuna.samplers.BaseSampler):
            return self.sampler
        raise TypeError(f"sampler must be None or an optuna sampler, got {self.sampler!r}")

    def _splitter(self, groups):
        if isinstance(self.cv, Integral):
            if self.cv < 2:
                raise ValueError(f"cv must be at least 2 folds, got {self.cv}")
            if groups is not None:
                return GroupKFold(int(self.cv))
            return KFold(int(self.cv), shuffle=True, random_state=self.random_state)
        if not hasattr(self.cv, "split"):
            raise TypeError(f"cv must be an int or a splitter with .split, got {self.cv!r}")
        return self.cv

    # -- fitting ---------------------------------------------------------------------

    def _candidate(self, params: dict, trial=None, held_out=None):
        """A fresh clone with ``params``; with ``trial``, scored and pruned per epoch on
        ``held_out = (X, y)``."""
        est = clone(self.estimator).set_params(**params)
        if trial is not None:
            from optuna_integration import SkorchPruningCallback

            prefix, net = final_estimator(est)
            X_val, y_val = held_out
            per_epoch = [
                ("held_out_score", HeldOutScore(partial(self.scorer_, est, X_val, y_val))),
                ("optuna_pruning", SkorchPruningCallback(trial, "held_out_score")),
            ]
            est.set_params(**{prefix + "callbacks": list(net.callbacks or []) + per_epoch})
        return est

    def _objective(self, trial, X, y, splits, space, ran: list):
        ran.append(trial.number)
        params = space(trial)
        scores = []
        started = time.perf_counter()
        for i, (train, test) in enumerate(splits):
            X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
            prune = i == 0 and self.pruner is not None
            est = self._candidate(params, trial if prune else None, (X_test, y_test))
            try:
                est.fit(_safe_indexing(X, train), _safe_indexing(y, train))
            except optuna.TrialPruned:
                raise
            except Exception as exc:
                if self.error_score == "raise":
                    raise
                warnings.warn(
                    f"trial {trial.number} failed on split {i} with {params}: "
                    f"{type(exc).__name__}: {exc}",
                    UserWarning,
                    stacklevel=2,
                )
                return float(self.error_score)
            scores.append(float(self.scorer_(est, X_test, y_test)))
            trial.set_user_attr(f"split{i}_score", scores[-1])
        trial.set_user_attr("fit_seconds", time.perf_counter() - started)
        return float(np.mean(scores))

    def fit(self, X, y, *, groups=None):
        """Run the study, then refit the best parameters on all data.

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or (n, H, W, C), or a list of images
        y : array-like of shape (n, 2K)
            Keypoints in pixels of ``X``.
        groups : array-like of shape (n,), optional
            Person (or video) of each image, for grouped splits.

        Returns
        -------
        self
        """
        self._check_params()
        self.scorer_ = _passthrough_score if self.scoring is None else get_scorer(self.scoring)
        space = self._space()
        check_consistent_length(X=X, y=y, groups=groups)
        splits = list(self._splitter(groups).split(np.zeros(len(y)), y, groups))
        verbosity = optuna.logging.get_verbosity()
        if not self.verbose:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
        ran: list[int] = []  # numbers of the trials this fit runs (others may share the study)
        try:
            self.study_ = optuna.create_study(
                storage=open_storage(self.storage),
                study_name=self.study_name,
                sampler=self._sampler(),
                pruner=_make_pruner(self.pruner),
                direction="maximize",
                load_if_exists=True,
            )
            self.study_.optimize(
                partial(self._objective, X=X, y=y, splits=splits, space=space, ran=ran),
                n_trials=self.n_trials,
                timeout=self.timeout,
            )
        finally:
            optuna.logging.set_verbosity(verbosity)
        mine = [t for t in self.study_.get_trials(deepcopy=False) if t.number in set(ran)]
        self.n_trials_ = len(mine)
        self.n_pruned_ = sum(t.state == optuna.trial.TrialState.PRUNED for t in mine)
        try:
            self.best_trial_ = self.study_.best_trial
        except ValueError:
            raise ValueError(
                "no trial completed (all pruned or failed); see study_.trials"
            ) from None
        self.best_score_ = float(self.best_trial_.value)
        self.best_params_ = space(optuna.trial.FixedTrial(self.best_trial_.params))
        if self.refit:
            started = time.perf_counter()
            self.best_estimator_ = self._candidate(self.best_params_).fit(X, y)
            self.refit_time_ = time.perf_counter() - started
        return self

    # -- using the best estimator ----------------------------------------------------

    def _has_best_estimator(self):
        check_is_fitted(self, "best_params_")
        if not self.refit:
            raise AttributeError("refit=False: there is no best_estimator_ to use")
        return True

    @available_if(_has_best_estimator)
    def predict(self, X, **params):
        """Keypoints predicted by ``best_estimator_``, shape (n, 2K)."""
        return self.best_estimator_.predict(X, **params)

    @available_if(_has_best_estimator)
    def score(self, X, y):
        """``scoring`` of ``best_estimator_`` on ``(X, y)``."""
        return float(self.scorer_(self.best_estimator_, X, y))
