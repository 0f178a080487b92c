"""Hyperparameter search on IMM: what a non-grouped split hides, what pruning saves,
and whether tuning beats the defaults on unseen persons.

IMM face database (Nordstrøm et al. 2004; Stegmann et al. 2003): 40 persons, 6 images
each. Persons 1-32 are the search's data; persons 33-40 are held out and only touched
to score the final models. Grey images resized to 60x80 in a KeypointPipeline, errors
in the original 640x480 pixels; NME as the estimators' ``score``: by the outer eye corners
for 58 points, by the image diagonal for the nose.

1. Grouping: 4-fold cross-validation on persons 1-32 with ``GroupKFold`` (persons kept
   apart) and with a shuffled ``KFold`` (a person's other images in training), against
   the error on persons 33-40 of the same model fitted on 1-32.
2. Pruning: 20-trial Optuna searches of the 58-point model (default search space, one
   person-grouped holdout, seed 0): a random search with and without the median
   pruner (the same candidates, so the difference is the pruning alone), and the
   default TPE sampler with the median pruner; wall time and epochs of each.
3. Tuned vs default: the defaults and the best parameters of the TPE search and of the
   unpruned random search, refitted on persons 1-32 and scored on 33-40.

    python benchmarks/bench_search.py            # all three (about 25 min on 2 cores)
    python benchmarks/bench_search.py --trials 5 --epochs 5   # a quick look
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from optuna.samplers import RandomSampler
from sklearn.base import clone
from sklearn.dummy import DummyRegressor
from sklearn.metrics import check_scoring
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, KFold, cross_val_score

from _common import peak_rss_mib, save_results
from sklearn_fkd import IMM58, FaceKeypointRegressor, NoseRegressor, make_keypoint_pipeline
from sklearn_fkd.datasets import load_imm_faces
from sklearn_fkd.metrics import get_scorer
from sklearn_fkd.preprocessing import Resize
from sklearn_fkd.search import OptunaSearchCV
from sklearn_fkd.utils import format_table

SIZE = (60, 80)  # (height, width)


def pipeline(est):
    return make_keypoint_pipeline(Resize(SIZE), est)


def held_out(model, X, y, X_test, y_test, scoring=None) -> dict:
    """Fit on persons 1-32, score on 33-40: NME (``scoring``, by default the model's own
    ``score``) and mean error in 640x480 pixels."""
    started = time.perf_counter()
    model.fit(X, y)
    fit_s = time.perf_counter() - started
    return {
        "held_out_nme": -check_scoring(model, scoring)(model, X_test, y_test),
        "held_out_px": -get_scorer("neg_mean_keypoint_error")(model, X_test, y_test),
        "fit_s": round(fit_s, 1),
    }


def grouping_rows(X, y, groups, X_test, y_test, epochs, seed) -> list[dict]:
    rows = []
    models = {
        "mean shape (DummyRegressor)": None,
        "NoseRegressor": NoseRegressor(max_epochs=epochs, random_state=seed),
        "FaceKeypointRegressor": FaceKeypointRegressor(max_epochs=epochs, random_state=seed),
    }
    for name, est in models.items():
        if est is None:  # the baseline needs no pixels: one flat feature per image
            model, Xf, Xf_test = (
                DummyRegressor(),
                np.zeros((len(X), 1)),
                np.zeros((len(X_test), 1)),
            )
            scoring = get_scorer("neg_nme", schema=IMM58)
        else:  # the pipeline's own score: -NME (eye corners; image diagonal for the nose)
            model, Xf, Xf_test, scoring = pipeline(est), X, X_test, None
        cv_nme = {}
        for split_name, cv in [
            ("GroupKFold", GroupKFold(4)),
            ("KFold", KFold(4, shuffle=True, random_state=seed)),
        ]:
            grouped = groups if split_name == "GroupKFold" else None
            scores = cross_val_score(clone(model), Xf, y, groups=grouped, cv=cv, scoring=scoring)
            cv_nme[split_name] = -float(np.mean(scores))
        test = held_out(model, Xf, y, Xf_test, y_test, scoring)
        row = {
            "model": name,
            "cv_nme_grouped": cv_nme["GroupKFold"],
            "cv_nme_kfold": cv_nme["KFold"],
            "held_out_nme": test["held_out_nme"],
            "kfold_understates_error_by": 1 - cv_nme["KFold"] / test["held_out_nme"],
            "grouped_understates_error_by": 1 - cv_nme["GroupKFold"] / test["held_out_nme"],
        }
        print(format_table([row]), flush=True)
        rows.append(row)
    return rows


def search_rows(X, y, groups, X_test, y_test, trials, epochs, seed):
    """Three searches, then the defaults and two searches' best on persons 33-40.

    Pruning's own saving is measured on a random search run twice, with and without
    the pruner: a seeded RandomSampler draws the same candidates whatever was pruned
    (TPE would not: it learns from the pruned trials, so its two runs would try
    different, differently priced networks). The third search is the default TPE with
    the median pruner, as a user would run it.
    """
    default = FaceKeypointRegressor(max_epochs=epochs, random_state=seed)
    holdout = GroupShuffleSplit(1, test_size=0.25, random_state=seed)
    setups = [
        ("random sampler, no pruning", RandomSampler(seed=seed), None),
        ("random sampler, median pruner", RandomSampler(seed=seed), "median"),
        ("TPE, median pruner (defaults)", None, "median"),
    ]
    rows, best = [], {}
    for name, sampler, pruner in setups:
        search = OptunaSearchCV(
            pipeline(default),
            n_trials=trials,
            cv=holdout,
            pruner=pruner,
            sampler=sampler,
            random_state=seed,
            refit=False,
        )
        started = time.perf_counter()
        search.fit(X, y, groups=groups)
        row = {
            "search": f"{trials} trials, {name}",
            "wall_s": round(time.perf_counter() - started, 1),
            "trials_pruned": search.n_pruned_,
            "epochs_trained": sum(
                len(t.intermediate_values) or epochs for t in search.study_.trials
            ),
            "best_holdout_nme": -search.best_score_,
        }
        print(format_table([row]), flush=True)
        rows.append(row)
        best[name] = search.best_params_
    unpruned, pruned = rows[0], rows[1]
    pruned["wall_vs_unpruned"] = pruned["wall_s"] / unpruned["wall_s"]
    pruned["epochs_vs_unpruned"] = pruned["epochs_trained"] / unpruned["epochs_trained"]
    finals = [
        {
            "model": "defaults",
            **held_out(pipeline(clone(default)), X, y, X_test, y_test),
            "params": "FaceKeypointRegressor() defaults",
        }
    ]
    for name in ("TPE, median pruner (defaults)", "random sampler, no pruning"):
        tuned = pipeline(clone(default)).set_params(**best[name])
        finals.append(
            {
                "model": f"best of {name}",
                **held_out(tuned, X, y, X_test, y_test),
                "params": _short(best[name]),
            }
        )
    print(format_table(finals), flush=True)
    return rows, finals


def _short(params: dict) -> str:
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    return ", ".join(f"{k.split('__', 1)[1]}={fmt(v)}" for k, v in params.items())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=20, help="max_epochs of every fit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-grouping", action="store_true")
    args = parser.parse_args(argv)

    imm = load_imm_faces(as_gray=True)
    train = imm.groups < 33
    X, y, groups = imm.images[train], imm.keypoints[train], imm.groups[train]
    X_test, y_test = imm.images[~train], imm.keypoints[~train]
    grouping = (
        []
        if args.skip_grouping
        else grouping_rows(X, y, groups, X_test, y_test, args.epochs, args.seed)
    )
    searches, finals = search_rows(
        X, y, groups, X_test, y_test, args.trials, args.epochs, args.seed
    )
    save_results(
        "search",
        grouping,
        {
            "searches": searches,
            "tuned_vs_default": finals,
            "input_size": SIZE,
            "max_epochs": args.epochs,
            "peak_rss_mib": peak_rss_mib(),
        },
    )


if __name__ == "__main__":
    main()
