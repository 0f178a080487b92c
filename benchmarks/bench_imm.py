"""IMM faces (course parts 1 and 2): nose tip and all 58 points, from scratch and
fine-tuned from the pretrained ``ibug68`` (issue #19).

Persons 1-32 train, 33-40 test (person-disjoint). From scratch: grey images resized to
160x120 in a KeypointPipeline. Fine-tuned (``--finetune``): ``FaceCrop`` (the true
points at fit, its detector at test, refined once) -> grey -> 128x128 ->
``weights="ibug68"``, the pretrained network with a new head for the 58 points (the
nose's head row comes from ibug68's nose tip). ``--small`` repeats both with persons
1-5 only (30 images). Errors in the original 640x480 pixels; every table has the mean
training shape's row and each model's ratio to it. IMM face database: Nordstrøm et al.
2004, Stegmann et al. 2003.

    python benchmarks/bench_imm.py                       # defaults, and without augmentation
    python benchmarks/bench_imm.py --variants            # + the course's lr / channel variants
    python benchmarks/bench_imm.py --finetune --small    # + fine-tuning, + 30 training images
    python benchmarks/bench_imm.py --seeds 3             # the defaults' spread over seeds

``--seeds N`` fits the from-scratch defaults with seeds 0..N-1 and predicts each fit
plainly and with test-time flip averaging (``test_flip=True``): ``imm_seeds.json``, with
each setting's mean and standard deviation over the seeds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.base import clone

from _common import RESULTS, peak_rss_mib, plot_best_worst, save_results
from sklearn_fkd import (
    IMM58,
    NOSE,
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    NoseRegressor,
    make_keypoint_pipeline,
)
from sklearn_fkd.datasets import load_imm_faces
from sklearn_fkd.keypoints import convert_keypoints
from sklearn_fkd.metrics import mean_keypoint_error, nme, normalizing_distance, pck
from sklearn_fkd.preprocessing import FaceCrop, Grayscale, Resize
from sklearn_fkd.pretrained import list_pretrained
from sklearn_fkd.utils import format_table

SIZE = (120, 160)  # (height, width)
COURSE = {"nose": 30.0, "imm58": 29.0}  # the course write-ups' mean errors, pixels


TASK_SCHEMA = {"nose": NOSE, "imm58": IMM58}


def scores(truth, pred, schema, interocular, mean_shape_px: float) -> dict:
    """Mean error (px), its ratio to the mean shape's, NME and PCK@0.05 of ``pred``."""
    error = mean_keypoint_error(truth, pred)
    return {
        "mean_px": error,
        "ratio_to_mean_shape": error / mean_shape_px,
        "nme": nme(truth, pred, schema=schema, normalize=interocular),
        "pck@0.05": pck(truth, pred, alpha=0.05, schema=schema, normalize=interocular),
    }


def run(name, est, task, data, train, steps=None) -> tuple[dict, np.ndarray, np.ndarray, object]:
    """Fit on the ``train`` persons; the row, the test truth and predictions in 640x480 px
    (persons 33-40), and the fitted pipeline."""
    images, keypoints, test, interocular = data
    schema = TASK_SCHEMA[task]
    target = convert_keypoints(keypoints, IMM58, schema)
    truth = target[test]
    pipe = make_keypoint_pipeline(*(steps or [Grayscale(), Resize(SIZE)]), est)
    t0 = time.perf_counter()
    if steps:  # a face crop needs the whole face's box: fit on the 58 points' crops
        crop = pipe.steps[0][1]
        crop.fit(images[train], keypoints[train])
        maps = crop.point_map(images[train], y=keypoints[train])
        rest = pipe[1:].fit(crop.warp(images[train], maps), maps.forward(target[train]))
        pipe.steps[1:] = rest.steps
    else:
        pipe.fit(images[train], target[train])
    fit_s = time.perf_counter() - t0
    pred = pipe.predict(images[test])  # in 640x480 pixels
    mean_shape = np.tile(np.nanmean(target[train], axis=0), (len(truth), 1))
    row = {
        "model": name,
        "task": task,
        "train_images": int(train.sum()),
        "train_s": round(fit_s, 1),
        "epochs": len(est.history),
        **scores(truth, pred, schema, interocular, mean_keypoint_error(truth, mean_shape)),
        "course_px": COURSE[task],
    }
    print(format_table([row]), flush=True)
    return row, truth, pred, pipe


def seed_rows(data, train, seeds: int) -> list[dict]:
    """The from-scratch defaults with seeds ``0..seeds-1``, each predicted plainly and
    with test-time flip averaging; then each setting's mean and standard deviation."""
    _, _, test, interocular = data
    rows = [baseline_row(task, data, train) for task in TASK_SCHEMA]
    mean_shape_px = {row["task"]: row["mean_px"] for row in rows}
    for seed in range(seeds):
        for cls, task in ((NoseRegressor, "nose"), (FaceKeypointRegressor, "imm58")):
            name = f"{cls.__name__}()"
            row, truth, _, pipe = run(name, cls(random_state=seed), task, data, train)
            rows.append(row | {"seed": seed, "test_flip": False})
            pipe[-1].set_params(test_flip=True)
            pred = pipe.predict(data[0][test])
            flipped = scores(truth, pred, TASK_SCHEMA[task], interocular, mean_shape_px[task])
            rows.append(row | flipped | {"seed": seed, "test_flip": True})
    for task in TASK_SCHEMA:
        for flip in (False, True):
            errors = [
                r["mean_px"] for r in rows if r.get("test_flip") is flip and r["task"] == task
            ]
            rows.append(
                {
                    "model": f"mean over {seeds} seeds",
                    "task": task,
                    "test_flip": flip,
                    "mean_px": float(np.mean(errors)),
                    "std_px": float(np.std(errors)),
                    "ratio_to_mean_shape": float(np.mean(errors)) / mean_shape_px[task],
                }
            )
    return rows


def baseline_row(task, data, train) -> dict:
    """The mean training shape (in 640x480 pixels)."""
    _, keypoints, test, interocular = data
    schema = TASK_SCHEMA[task]
    target = convert_keypoints(keypoints, IMM58, schema)
    truth = target[test]
    pred = np.tile(np.nanmean(target[train], axis=0), (len(truth), 1))
    return {
        "model": "mean training shape",
        "task": task,
        "train_images": int(train.sum()),
        **scores(truth, pred, schema, interocular, mean_keypoint_error(truth, pred)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", action="store_true", help="also the course's variants")
    parser.add_argument("--finetune", action="store_true", help="also from weights='ibug68'")
    parser.add_argument("--small", action="store_true", help="also on persons 1-5 only")
    parser.add_argument(
        "--finetune-epochs", type=int, default=20, help="(as long as 60 epochs from scratch)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--seeds", type=int, default=None, help="only the defaults' spread over N seeds"
    )
    args = parser.parse_args(argv)

    imm = load_imm_faces()
    test = imm.groups >= 33
    interocular = normalizing_distance(imm.keypoints[test], IMM58)
    data = (imm.images, imm.keypoints, test, interocular)
    if args.seeds:
        rows = seed_rows(data, imm.groups < 33, args.seeds)
        save_results("imm_seeds", rows, {"input_size": SIZE, "train": "persons 1-32"})
        print(format_table([r for r in rows if "std_px" in r]))
        return
    seed = args.seed
    train_sets = {"persons 1-32": imm.groups < 33}
    if args.small:
        train_sets["persons 1-5"] = imm.groups <= 5

    def tuned(cls, **kw):
        return cls(weights="ibug68", max_epochs=args.finetune_epochs, random_state=seed, **kw)

    # the crops the shipped ibug68 was trained on: its card's input size
    (card,) = (c for c in list_pretrained() if c["name"] == "ibug68")
    pretrained_size = int(card["input_size"][0])

    def crop_steps():
        return [FaceCrop(margin=0.25), Grayscale(), Resize(pretrained_size)]

    runs = [
        ("NoseRegressor()", NoseRegressor(random_state=seed), "nose"),
        ("NoseRegressor(augment=None)", NoseRegressor(augment=None, random_state=seed), "nose"),
        ("FaceKeypointRegressor()", FaceKeypointRegressor(random_state=seed), "imm58"),
        (
            "FaceKeypointRegressor(augment=None)",
            FaceKeypointRegressor(augment=None, random_state=seed),
            "imm58",
        ),
    ]
    if args.finetune:
        runs += [
            ("NoseRegressor(weights='ibug68')", tuned(NoseRegressor), "nose", crop_steps),
            (
                "FaceKeypointRegressor(weights='ibug68')",
                tuned(FaceKeypointRegressor),
                "imm58",
                crop_steps,
            ),
            (
                "HeatmapKeypointEstimator(weights='ibug68')",
                tuned(HeatmapKeypointEstimator),
                "imm58",
                crop_steps,
            ),
        ]
    if args.variants:
        runs += (
            [
                (f"NoseRegressor(lr={lr})", NoseRegressor(lr=lr, random_state=seed), "nose")
                for lr in (1e-4, 1e-2)
            ]
            + [
                (
                    f"NoseRegressor(channels={ch})",
                    NoseRegressor(channels=ch, random_state=seed),
                    "nose",
                )
                for ch in ((8, 16, 32, 64, 64), (32, 64, 128, 256, 256))
            ]
            + [
                (
                    "NoseRegressor(head='fc') (course model)",
                    NoseRegressor(head="fc", random_state=seed),
                    "nose",
                ),
            ]
        )
    rows = []
    for set_name, train in train_sets.items():
        rows += [baseline_row(task, data, train) | {"train": set_name} for task in TASK_SCHEMA]
        for name, est, task, *steps in runs:
            if set_name != "persons 1-32" and (
                args.variants and "=" in name and "weights" not in name
            ):
                continue  # the small set: defaults and fine-tuning only
            est = clone(est)
            row, truth, pred, _ = run(name, est, task, data, train, steps[0]() if steps else None)
            rows.append(row | {"train": set_name})
            slug = name.split("(")[0].lower() + ("_noaug" if "augment=None" in name else "")
            slug += "_ibug68" if "weights" in name else ""
            if set_name == "persons 1-32" and (
                name.endswith("()") or "augment=None" in name or "weights" in name
            ):
                plot_best_worst(
                    imm.images[test],
                    truth,
                    pred,
                    TASK_SCHEMA[task],
                    interocular,
                    est,
                    RESULTS / f"imm_{slug}.png",
                )
    print("\n" + format_table(rows))
    save_results("imm", rows, {"peak_rss_mib": peak_rss_mib(), "input_size": SIZE})


if __name__ == "__main__":
    main()
