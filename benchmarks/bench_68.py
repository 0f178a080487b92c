"""68 points in the wild (issue #15; course parts 3-4): the ``ibug68`` recipe, an
ablation of its levers, and the course's models.

Training set: the YouTube Faces training frames (Wolf et al. 2011), 300-W HELEN and
LFPW (Sagonas et al.; Le et al. 2012; Belhumeur et al. 2011): 5,137 faces, the 1,675
in-the-wild ones (HELEN, LFPW) listed three times per epoch (``3*helen``: 8,487 per
epoch), as the AFW faces users bring are in the wild and the YouTube frames are not.
Held out: the 770 YouTube test frames (the splits share people) and the 337 AFW faces
(Zhu & Ramanan 2012). NME is normalised by the outer eye corners; every table has the
mean training shape's row and each model's ratio to it, and dlib's and MediaPipe's rows
from ``bench_peers.py`` on the same images (dlib was trained on 300-W, AFW included).

    python benchmarks/bench_68.py --recipe               # make_recipe("ibug68")
    python benchmarks/bench_68.py --recipe --model benchmarks/output/ibug68_held_out.fkd
                    # a fitted recipe on the same split (train_pretrained.py ibug68 --held-out)
    python benchmarks/bench_68.py --recipe --model FILE --results 68points_recipe_hour
                    # the same, into another results file
    python benchmarks/bench_68.py --ablation --epochs 12  # each lever off, same seed/epochs
    python benchmarks/bench_68.py --ablation --epochs 12 --lever recipe --lever no-lfpw
                    # some levers: the others' rows (same epochs and --train) stay in the file
    python benchmarks/bench_68.py --ablation --epochs 12 --train youtube:train+helen+lfpw
                    # the ablation on another training mix (each face once)
    python benchmarks/bench_68.py --only cnn --size 96 --epochs 15   # the course's models

A data lever marked "same images seen" trains for ``epochs * len(train) / len(its data)``
epochs (rounded), so it costs what the recipe costs; an input size marked "same pixels
seen" trains for ``epochs * (recipe size / size) ** 2`` epochs.

Results: ``68points_recipe.json`` (or ``--results``), ``68points_ablation.json``,
``68points_<size>.json``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from levers import CPU_ABLATION, LEVERS

from _common import (
    RESULTS,
    peak_rss_mib,
    plot_best_worst,
    save_results,
    saved_results,
    saved_rows,
)
from sklearn_fkd import (
    IBUG68,
    Augment,
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    make_keypoint_pipeline,
)
from sklearn_fkd.callbacks import WeightAveraging
from sklearn_fkd.datasets import load_dataset, split_dataset_spec
from sklearn_fkd.geometry import keypoint_boxes
from sklearn_fkd.metrics import ced_auc, failure_rate, mean_keypoint_error, nme, pck
from sklearn_fkd.persistence import load_model, model_info
from sklearn_fkd.preprocessing import Grayscale, Resize
from sklearn_fkd.recipes import RECIPES, make_recipe
from sklearn_fkd.utils import format_table

TRAIN = "youtube:train+3*helen+3*lfpw"
TESTS = {"YouTube test": "youtube:test", "AFW": "afw"}
MODELS = {
    "resnet18": lambda ep, seed: FaceKeypointRegressor(
        backbone="resnet18", max_epochs=ep, batch_size=32, random_state=seed
    ),
    "unet": lambda ep, seed: HeatmapKeypointEstimator(
        max_epochs=ep, batch_size=16, random_state=seed
    ),
    "cnn": lambda ep, seed: FaceKeypointRegressor(max_epochs=ep, batch_size=16, random_state=seed),
}
#: the ablation: each lever of the recipe switched off (or changed) alone (levers.py)
ABLATION = {name: LEVERS[name] for name in CPU_ABLATION}

#: the pipeline parameters that only change prediction (set after fit)
PREDICT_ONLY = sorted({k for _, changes in ABLATION.values() for k in changes.get("predict", {})})


def recipe_predict_settings() -> dict:
    """The recipe's values of :data:`PREDICT_ONLY` (a model file fitted before one of
    them was added gets them too)."""
    params = make_recipe("ibug68").get_params()
    return {key: params[key] for key in PREDICT_ONLY}


def metrics(truth, pred, mean_shape_nme: float) -> dict:
    value = nme(truth, pred, schema=IBUG68)
    return {
        "nme": value,
        "ratio_to_mean_shape": value / mean_shape_nme,
        "pck@0.05": pck(truth, pred, alpha=0.05, schema=IBUG68),
        "auc@0.08": ced_auc(truth, pred, threshold=0.08, schema=IBUG68),
        "fr@0.10": failure_rate(truth, pred, threshold=0.10, schema=IBUG68),
        "mean_px": mean_keypoint_error(truth, pred),
    }


def mean_shape_rows(train, tests) -> tuple[list[dict], dict]:
    """The mean training shape, placed in each test face's true box (the baseline a
    model of crops has to beat): normalised shapes, scaled to the box."""
    boxes = keypoint_boxes(train.keypoints)
    pts = train.keypoints.reshape(len(boxes), -1, 2)
    unit = (pts - boxes[:, None, :2]) / (boxes[:, None, 2:] - boxes[:, None, :2])
    mean_unit = np.nanmean(unit, axis=0)
    rows, base = [], {}
    for name, test in tests.items():
        b = keypoint_boxes(test.keypoints)
        pred = (b[:, None, :2] + mean_unit[None] * (b[:, None, 2:] - b[:, None, :2])).reshape(
            len(b), -1
        )
        base[name] = nme(test.keypoints, pred, schema=IBUG68)
        rows.append({"test_set": name, "model": "mean training shape in the true box",
                     **metrics(test.keypoints, pred, base[name])})  # fmt: skip
    return rows, base


def peer_rows(base: dict) -> list[dict]:
    """dlib's and MediaPipe's figures on the same images, from bench_peers.py."""
    return [
        {
            "test_set": r["test_set"],
            "model": r["peer"]
            + (" (trained on 300-W, AFW included)" if "dlib" in r["peer"] else ""),
            "nme": r["nme"],
            "ratio_to_mean_shape": r["nme"] / base[r["test_set"]],
            "pck@0.05": r.get("pck@0.05"),
            "auc@0.08": r.get("auc@0.08"),
            "fr@0.10": r.get("fr@0.10"),
            "mean_px": r.get("mean_px"),
        }
        for r in saved_rows("peers")
        if r["test_set"] in base
    ]


def recipe_pipeline(changes: dict, epochs: int | None, seed: int):
    """``make_recipe("ibug68")`` with an ablation's changes."""
    recipe = RECIPES["ibug68"]
    params = dict(changes.get("estimator", {}))
    if epochs is not None:
        params["max_epochs"] = epochs
    if "augment" in changes:
        params["augment"] = Augment(**{**recipe["augment"], **changes["augment"]})
    if "ema" in changes:
        params["callbacks"] = [("ema", WeightAveraging(changes["ema"]))]
    pipe = make_recipe("ibug68", random_state=seed, **params)
    if "size" in changes:
        pipe.set_params(resize__size=changes["size"])
    return pipe


def kept_ablation_rows(labels: set[str], epochs: int, train: str) -> list[dict]:
    """The ablation rows of levers not run now (``--lever``), from the results file when
    it was run at the same epochs on the same training mix."""
    saved = saved_results("68points_ablation")
    if saved.get("epochs") != epochs or saved.get("train") != train:
        return []
    if saved.get("predict") != json.loads(json.dumps(recipe_predict_settings())):
        return []  # predicted otherwise (e.g. before the recipe's test scales)
    # model rows only (the baselines are redone)
    return [r for r in saved["rows"] if "boxes" in r and r["model"] not in labels]


def in_lever_order(rows: list[dict]) -> list[dict]:
    """The baselines first, then the levers' rows in the order of :data:`ABLATION`."""
    order = {label: i for i, (label, _) in enumerate(ABLATION.values())}
    return sorted(rows, key=lambda r: order.get(r["model"], -1))


def evaluate_pipeline(label, pipe, tests, base, fit_s, through_detector: bool) -> list[dict]:
    rows = []
    for test_name, test in tests.items():
        settings = [("true boxes", {"boxes": keypoint_boxes(test.keypoints)})]
        if through_detector:
            settings.append((f"{pipe[0].detector_} detector", {}))
        for boxes, given in settings:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                t0 = time.perf_counter()
                pred = pipe.predict(list(test.images), **given)
            ms = 1000 * (time.perf_counter() - t0) / len(test.images)
            rows.append(
                {
                    "test_set": test_name,
                    "model": label,
                    "boxes": boxes,
                    "epochs": len(pipe[-1].history),
                    "train_s": round(fit_s),
                    **metrics(test.keypoints, pred, base[test_name]),
                    "ms_per_face": ms,
                }
            )
            print(format_table(rows[-1:]), flush=True)
            if boxes != "true boxes":
                slug = f"68_recipe_{test_name.split()[0].lower()}.png"
                plot_best_worst(test.images, test.keypoints, pred, IBUG68, "interocular",
                                pipe[-1], RESULTS / slug)  # fmt: skip
    return rows


def evaluate_lever(pipe, lever: str, label: str, tests, base, fit_s) -> list[dict]:
    """The rows of a fitted recipe predicted with a prediction-only lever, true boxes
    (the recipe table's row that shows what the lever buys on the same model)."""
    lever_label, changes = ABLATION[lever]
    pipe.set_params(**changes["predict"])
    return evaluate_pipeline(f"{label}, {lever_label}", pipe, tests, base, fit_s, False)


def lever_data(train: str, changes: dict) -> str:
    """The training spec of a data lever: ``train`` without the sets it drops and with
    the repeats it sets (``"youtube:train+helen"``, ``{"repeats": {"helen": 2}}`` ->
    ``"youtube:train+2*helen"``)."""
    parts = []
    for times, name in split_dataset_spec(train):
        if name in changes.get("without", ()):
            continue
        times = changes.get("repeats", {}).get(name, times)
        parts.append(name if times == 1 else f"{times}*{name}")
    return "+".join(parts)


def epochs_of_lever(epochs: int, n_train: int, n_data: int, changes: dict) -> int:
    """The epochs a lever trains for: ``epochs``, or, for a lever marked
    ``same_compute``, as many as see the same images (``n_train`` per epoch in the
    recipe, ``n_data`` in the lever's mix) and pixels (its input size) as the recipe."""
    if not changes.get("same_compute"):
        return epochs
    recipe_size = RECIPES["ibug68"]["size"]
    pixels = (changes.get("size", recipe_size) / recipe_size) ** 2
    return max(1, round(epochs * n_train / n_data / pixels))


def run_info(args) -> dict:
    """The metadata saved beside the rows."""
    return {
        "peak_rss_mib": peak_rss_mib(),
        "train": args.train,
        "tests": TESTS,
        "epochs": args.epochs,
        "predict": recipe_predict_settings(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", action="store_true", help="the ibug68 recipe")
    parser.add_argument("--ablation", action="store_true", help="each lever of the recipe off")
    parser.add_argument(
        "--lever", choices=list(ABLATION), action="append", help="with --ablation: only these"
    )
    parser.add_argument("--only", choices=list(MODELS), action="append", help="course models")
    parser.add_argument("--size", type=int, default=96, help="course models' input size")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", default=TRAIN, help=f"the training mix (default {TRAIN})")
    parser.add_argument(
        "--model", default=None, help="with --recipe: evaluate this fitted recipe, no training"
    )
    parser.add_argument(
        "--results",
        default=None,
        help="with --recipe --model: the results file's name (default 68points_recipe)",
    )
    args = parser.parse_args(argv)
    tests = {name: load_dataset(spec) for name, spec in TESTS.items()}
    train = load_dataset(args.train)
    rows, base = mean_shape_rows(train, tests)
    if args.recipe and args.model:
        pipe = load_model(args.model)
        card = model_info(args.model)["metadata"].get("card", {})
        if card.get("training_data", args.train) != args.train:
            raise SystemExit(
                f"{args.model} was trained on {card['training_data']}, not {args.train}"
            )
        label = f"ibug68 recipe ({Path(args.model).name}, float16)"
        fit_s = card["train_seconds"]  # written by train_pretrained.py
        pipe.set_params(**recipe_predict_settings())
        rows += evaluate_pipeline(label, pipe, tests, base, fit_s, through_detector=True)
        for lever in ("one-scale", "no-offset"):
            pipe.set_params(**recipe_predict_settings())
            rows += evaluate_lever(pipe, lever, label, tests, base, fit_s)
        name = args.results or "68points_recipe"
    elif args.recipe or args.ablation:
        if args.recipe:
            variants = [("ibug68 recipe", {})]
        else:
            variants = [ABLATION[key] for key in (args.lever or ABLATION)]
        name = "68points_recipe" if args.recipe else "68points_ablation"
        args.epochs = epochs = args.epochs or RECIPES["ibug68"]["estimator"]["max_epochs"]
        labels = {label for label, _ in variants}
        kept = [] if args.recipe else kept_ablation_rows(labels, epochs, args.train)
        datasets = {args.train: train}  # training spec -> data
        fitted = {}  # what a fit depends on (as text) -> (fitted pipeline, fit seconds)
        predict_defaults = recipe_predict_settings()
        measured = []
        for label, changes in variants:
            spec = lever_data(args.train, changes)
            if spec not in datasets:
                datasets[spec] = load_dataset(spec)
            data = datasets[spec]
            lever_epochs = epochs_of_lever(epochs, len(train.images), len(data.images), changes)
            fit_changes = {
                k: v for k, v in changes.items() if k in ("estimator", "augment", "size", "ema")
            }
            key = json.dumps({"data": spec, "epochs": lever_epochs, **fit_changes}, sort_keys=True)
            if key not in fitted:
                pipe = recipe_pipeline(fit_changes, lever_epochs, args.seed)
                t0 = time.perf_counter()
                pipe.fit(list(data.images), data.keypoints)
                fitted[key] = (pipe, time.perf_counter() - t0)
            pipe, fit_s = fitted[key]
            pipe.set_params(**predict_defaults | changes.get("predict", {}))
            measured += evaluate_pipeline(
                label, pipe, tests, base, fit_s, through_detector=args.recipe
            )
            if args.recipe:
                for lever in ("one-scale", "no-offset"):
                    measured += evaluate_lever(pipe, lever, label, tests, base, fit_s)
                    pipe.set_params(**predict_defaults)
            save_results(name, in_lever_order(rows + measured + kept), run_info(args))
        rows = in_lever_order(rows + measured + kept)
    else:
        for model in args.only or list(MODELS):
            est = MODELS[model](args.epochs or 15, args.seed)
            pipe = make_keypoint_pipeline(Grayscale(), Resize(args.size), est)  # given crops
            t0 = time.perf_counter()
            pipe.fit(list(train.images), train.keypoints)
            fit_s = time.perf_counter() - t0
            for test_name, test in tests.items():
                pred = pipe.predict(list(test.images))
                rows.append({"test_set": test_name, "model": f"{model} {args.size}px, given crops",
                             "epochs": len(est.history), "train_s": round(fit_s),
                             **metrics(test.keypoints, pred, base[test_name])})  # fmt: skip
                print(format_table(rows[-1:]), flush=True)
        name = f"68points_{args.size}"
    rows += peer_rows(base)
    print("\n" + format_table(rows))
    save_results(name, rows, run_info(args))


if __name__ == "__main__":
    main()
