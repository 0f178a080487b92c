"""68 points on YouTube Faces (course parts 3 and 4): ResNet-18, U-Net heatmaps, the CNN.

Trains on the 3,462 training frames, tests on the 770 test frames (Udacity's split of
the YouTube Faces Database, Wolf et al. 2011; the splits share people, see DESCR). The
face crops are made grey and resized to ``--size`` in a KeypointPipeline, which maps
predictions back to each image's own pixels. NME is normalised by the outer eye
corners. dlib's 68-point shape predictor, measured on the same 770 images: NME 0.069
(issue #3; benchmark #6 reruns it).

    python benchmarks/bench_68.py [--size 96] [--epochs 30] [--only resnet18]
    python benchmarks/bench_68.py --helen ...   # + HELEN in training, AFW as a 2nd test set

With ``--helen`` the 870 HELEN faces of 300-W (Sagonas et al.; Le et al. 2012) join the
training set and the 337 AFW faces (Zhu & Ramanan 2012; source-disjoint from both
training sets) are a second test set, as in course part 3; results go to
``68points_<size>.json`` with a best/worst figure per model and test set.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from _common import RESULTS, peak_rss_mib, plot_best_worst, save_results
from sklearn_fkd import (
    IBUG68,
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    make_keypoint_pipeline,
)
from sklearn_fkd.datasets import load_helen_afw, load_youtube_faces
from sklearn_fkd.metrics import ced_auc, failure_rate, keypoint_mae, mean_keypoint_error, nme, pck
from sklearn_fkd.preprocessing import Grayscale, Resize
from sklearn_fkd.utils import format_table

DLIB_NME = 0.069
MODELS = {
    "resnet18": lambda ep, seed: FaceKeypointRegressor(
        backbone="resnet18", max_epochs=ep, batch_size=32, random_state=seed
    ),
    "heatmap": lambda ep, seed: HeatmapKeypointEstimator(
        max_epochs=ep, batch_size=16, random_state=seed
    ),  # DSNT loss; the earlier plain-MSE heatmap loss reached NME 0.57 (collapsed maps)
    "cnn": lambda ep, seed: FaceKeypointRegressor(max_epochs=ep, batch_size=16, random_state=seed),
}


def dlib_rows(tests, with_test_set: bool) -> list[dict]:
    """dlib's NME on the same test images, from ``bench_peers.py``'s results when they
    exist, else the figure measured for issue #3."""
    path = RESULTS / "peers.json"
    if not path.is_file():
        return [{"model": "dlib shape predictor (issue #3)", "nme": DLIB_NME}]
    peers = json.loads(path.read_text())["rows"]
    return [
        {
            **({"test_set": r["test_set"]} if with_test_set else {}),
            "model": "dlib shape predictor (bench_peers.py)",
            "nme": r["nme"],
        }
        for r in peers
        if r["peer"].startswith("dlib") and r["test_set"] in tests
    ]


def evaluate(name, truth, pred, fit_s, epochs) -> dict:
    return {
        "model": name,
        "epochs": epochs,
        "train_s": round(fit_s),
        "nme": nme(truth, pred, schema=IBUG68),
        "pck@0.05": pck(truth, pred, alpha=0.05, schema=IBUG68),
        "auc@0.08": ced_auc(truth, pred, threshold=0.08, schema=IBUG68),
        "fr@0.10": failure_rate(truth, pred, threshold=0.10, schema=IBUG68),
        "mean_px": mean_keypoint_error(truth, pred),
        "mae_px": keypoint_mae(truth, pred),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--only", choices=list(MODELS), action="append")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--helen",
        action="store_true",
        help="also train on the 870 HELEN faces and test on AFW too (course part 3's data)",
    )
    args = parser.parse_args(argv)
    train = load_youtube_faces("train")
    tests = {"YouTube test": load_youtube_faces("test")}
    images, keypoints = list(train.images), train.keypoints
    if args.helen:
        helen = load_helen_afw("helen")
        images += list(helen.images)
        keypoints = np.concatenate([keypoints, helen.keypoints])
        tests["AFW"] = load_helen_afw("afw")
    size = (args.size, args.size)
    rows = []
    for name in args.only or list(MODELS):
        est = MODELS[name](args.epochs, args.seed)
        pipe = make_keypoint_pipeline(Grayscale(), Resize(size), est)  # the images are crops
        t0 = time.perf_counter()
        pipe.fit(images, keypoints)
        fit_s = time.perf_counter() - t0
        variants = {name: {}}
        if name == "heatmap":  # the same fit, read out both ways
            variants = {"heatmap (soft-argmax)": {}, "heatmap (argmax)": {"decode": "argmax"}}
        for label, params in variants.items():
            est.set_params(**params)
            for test_name, test in tests.items():
                pred = pipe.predict(test.images)  # in each image's own pixels
                row = evaluate(label, test.keypoints, pred, fit_s, args.epochs)
                rows.append({"test_set": test_name, **row} if args.helen else row)
                print(format_table(rows[-1:]), flush=True)
                if args.helen and not params:
                    slug = f"68_{name}_{test_name.split()[0].lower()}_{args.size}.png"
                    plot_best_worst(
                        test.images,
                        test.keypoints,
                        pred,
                        IBUG68,
                        "interocular",
                        est,
                        RESULTS / slug,
                    )
    rows += dlib_rows(tests, with_test_set=args.helen)
    print("\n" + format_table([{k: r.get(k, "") for k in rows[0]} for r in rows]))
    name = f"68points_{args.size}" if args.helen else f"youtube68_{args.size}"
    save_results(name, rows, {"peak_rss_mib": peak_rss_mib(), "input_size": size})


if __name__ == "__main__":
    main()
