"""Small, well-aligned data sets: do the defaults beat the mean shape? (issue #15)

Two cases, each face cropped to its points' box plus a 10 % margin and resized to 96x96
grey (so the mean shape is a strong baseline), errors in those 96x96 pixels:

* IMM (Nordstrøm et al. 2004; Stegmann et al. 2003): 58 points, persons 1-32 train,
  33-40 test;
* the Face Research Lab London Set (DeBruine & Jones 2017, CC BY 4.0): 102 faces with
  the 189 points of WebMorph's template, person-disjoint 5-fold cross-validation.

``FaceKeypointRegressor()`` and ``HeatmapKeypointEstimator()`` with their defaults, from
scratch, beside the mean training shape; ``--ablation`` adds each without the
mean-shape start.

    python benchmarks/bench_small.py [--ablation] [--data imm|london] [--model regressor|heatmap]

The results file is written after every row (a stopped run keeps what it measured);
``--data`` runs one case and ``--model`` one estimator: the rows already in the file
are kept, and a row measured again replaces its old one in place.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.model_selection import GroupKFold

from _common import peak_rss_mib, save_results, saved_rows
from sklearn_fkd import FaceKeypointRegressor, HeatmapKeypointEstimator
from sklearn_fkd.datasets import load_imm_faces, load_london_faces
from sklearn_fkd.metrics import mean_keypoint_error
from sklearn_fkd.preprocessing import FaceCrop, Resize
from sklearn_fkd.utils import format_table


def aligned_crops(images, keypoints):
    """Each face cropped to its points' box + 10 % and resized to 96x96; the points too."""
    crop = FaceCrop(margin=0.1, detector=None, jitter=0.0).fit(images, keypoints)
    maps = crop.point_map(images, y=keypoints)
    resize = Resize((96, 96))
    crops = crop.warp(images, maps)
    return resize.transform(crops), resize.transform_keypoints(crops, maps.forward(keypoints))


def data_sets(which=("imm", "london")):
    if "imm" in which:
        imm = load_imm_faces(as_gray=True)
        X, y = aligned_crops(list(imm.images), imm.keypoints)
        train = imm.groups <= 32
        folds = [(np.flatnonzero(train), np.flatnonzero(~train))]
        yield "IMM 58 points, 96x96 crops", X, y, folds
    if "london" in which:
        london = load_london_faces(as_gray=True)
        X, y = aligned_crops(list(london.images), london.keypoints)
        folds = list(GroupKFold(5).split(X, y, london.groups))
        yield "London 189 points, 96x96 crops, 5 folds", X, y, folds


def put_row(rows: list[dict], row: dict) -> None:
    """Replace the row of the same data and model in ``rows``, or append ``row``."""
    for i, old in enumerate(rows):
        if (old["data"], old["model"]) == (row["data"], row["model"]):
            rows[i] = row
            return
    rows.append(row)


def candidate_models(model: str | None, ablation: bool, seed: int) -> dict:
    """Row label -> factory of each estimator to measure.

    ``model`` ("regressor", "heatmap" or None for both) picks the estimators;
    ``ablation`` adds each picked one without the mean-shape start.
    """
    estimators = {"regressor": FaceKeypointRegressor, "heatmap": HeatmapKeypointEstimator}
    if model is not None:
        estimators = {model: estimators[model]}
    variants = [{}, {"mean_shape_start": False}] if ablation else [{}]
    return {
        f"{cls.__name__}({', '.join(f'{k}={v}' for k, v in params.items())})": (
            lambda cls=cls, params=params: cls(random_state=seed, **params)
        )
        for params in variants
        for cls in estimators.values()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ablation", action="store_true", help="also without mean-shape start")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", choices=("imm", "london"), default=None, help="one case")
    parser.add_argument(
        "--model", choices=("regressor", "heatmap"), default=None, help="one estimator"
    )
    args = parser.parse_args(argv)
    which = (args.data,) if args.data else ("imm", "london")
    models = candidate_models(args.model, args.ablation, args.seed)
    rows = saved_rows("small_data")  # rows of cases and models not run now are kept
    for name, X, y, folds in data_sets(which):
        n = sum(len(test) for _, test in folds)
        baseline = (
            sum(
                mean_keypoint_error(y[test], np.tile(np.nanmean(y[train], 0), (len(test), 1)))
                * len(test)
                for train, test in folds
            )
            / n
        )
        put_row(rows, {"data": name, "model": "mean training shape", "mean_px": baseline,
                       "ratio_to_mean_shape": 1.0})  # fmt: skip
        for label, make in models.items():
            t0, errors = time.perf_counter(), 0.0
            for train, test in folds:
                est = make().fit(X[train], y[train])
                errors += mean_keypoint_error(y[test], est.predict(X[test])) * len(test)
            row = {
                "data": name,
                "model": label,
                "mean_px": errors / n,
                "ratio_to_mean_shape": errors / n / baseline,
                "epochs": est.max_epochs,
                "train_s": round(time.perf_counter() - t0, 1),
            }
            put_row(rows, row)
            print(format_table([row]), flush=True)
            save_results("small_data", rows, {"peak_rss_mib": peak_rss_mib()})
    print("\n" + format_table(rows))


if __name__ == "__main__":
    main()
