"""IMM faces (course parts 1 and 2): nose tip and all 58 points.

Persons 1-32 train, 33-40 test (person-disjoint). Grey images resized to 160x120 in a
KeypointPipeline; errors in the original 640x480 pixels. IMM face database: Nordstrøm et al. 2004,
Stegmann et al. 2003.

    python benchmarks/bench_imm.py            # defaults (mild augmentation), and without
    python benchmarks/bench_imm.py --variants # + the course's lr / channel variants
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import RESULTS, peak_rss_mib, plot_best_worst, save_results
from sklearn_fkd import IMM58, NOSE, FaceKeypointRegressor, NoseRegressor, make_keypoint_pipeline
from sklearn_fkd.datasets import load_imm_faces
from sklearn_fkd.keypoints import convert_keypoints
from sklearn_fkd.metrics import mean_keypoint_error, nme, normalizing_distance, pck
from sklearn_fkd.preprocessing import Grayscale, Resize
from sklearn_fkd.utils import format_table

SIZE = (120, 160)  # (height, width)
COURSE = {"nose": 30.0, "imm58": 29.0}  # the course write-ups' mean errors, pixels


TASK_SCHEMA = {"nose": NOSE, "imm58": IMM58}


def run(name, est, task, data) -> tuple[dict, np.ndarray, np.ndarray]:
    """Fit on persons 1-32; the row, and the test truth and predictions in 640x480 px."""
    images, keypoints, train, interocular = data
    schema = TASK_SCHEMA[task]
    target = convert_keypoints(keypoints, IMM58, schema)
    truth = target[~train]
    pipe = make_keypoint_pipeline(Grayscale(), Resize(SIZE), est)
    t0 = time.perf_counter()
    pipe.fit(images[train], target[train])
    fit_s = time.perf_counter() - t0
    pred = pipe.predict(images[~train])  # in 640x480 pixels
    row = {
        "model": name,
        "task": task,
        "train_s": round(fit_s, 1),
        "epochs": est.max_epochs,
        "mean_px": mean_keypoint_error(truth, pred),
        "nme": nme(truth, pred, schema=schema, normalize=interocular),
        "pck@0.05": pck(truth, pred, alpha=0.05, schema=schema, normalize=interocular),
        "course_px": COURSE[task],
    }
    print(format_table([row]), flush=True)
    return row, truth, pred


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", action="store_true", help="also the course's variants")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    imm = load_imm_faces()
    train = imm.groups < 33
    interocular = normalizing_distance(imm.keypoints[~train], IMM58)
    data = (imm.images, imm.keypoints, train, interocular)
    seed = args.seed
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
    for name, est, task in runs:
        row, truth, pred = run(name, est, task, data)
        rows.append(row)
        slug = name.split("(")[0].lower() + ("_noaug" if "augment=None" in name else "")
        if name.endswith("()") or "augment=None" in name:
            plot_best_worst(
                imm.images[~train],
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
