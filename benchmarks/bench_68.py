"""68 points on YouTube Faces (course parts 3 and 4): ResNet-18, U-Net heatmaps, the CNN.

Trains on the 3,462 training frames, tests on the 770 test frames (Udacity's split of
the YouTube Faces Database, Wolf et al. 2011; the splits share people, see DESCR). The
face crops are made grey and resized to ``--size`` in a KeypointPipeline, which maps
predictions back to each image's own pixels. NME is normalised by the outer eye
corners. dlib's 68-point shape predictor, measured on the same 770 images: NME 0.069
(issue #3; benchmark #6 reruns it).

    python benchmarks/bench_68.py [--size 96] [--epochs 30] [--only resnet18]
"""

from __future__ import annotations

import argparse
import time

from _common import peak_rss_mib, save_results
from sklearn_fkd import (
    IBUG68,
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    make_keypoint_pipeline,
)
from sklearn_fkd.datasets import load_youtube_faces
from sklearn_fkd.demo import format_table
from sklearn_fkd.metrics import auc, failure_rate, keypoint_mae, mean_keypoint_error, nme, pck
from sklearn_fkd.preprocessing import Grayscale, Resize

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


def evaluate(name, truth, pred, fit_s, epochs) -> dict:
    return {
        "model": name,
        "epochs": epochs,
        "train_s": round(fit_s),
        "nme": nme(truth, pred, schema=IBUG68),
        "pck@0.05": pck(truth, pred, alpha=0.05, schema=IBUG68),
        "auc@0.08": auc(truth, pred, threshold=0.08, schema=IBUG68),
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
    args = parser.parse_args(argv)
    train, test = load_youtube_faces("train"), load_youtube_faces("test")
    size = (args.size, args.size)
    rows = []
    for name in args.only or list(MODELS):
        est = MODELS[name](args.epochs, args.seed)
        pipe = make_keypoint_pipeline(Grayscale(), Resize(size), est)  # the frames are crops
        t0 = time.perf_counter()
        pipe.fit(train.images, train.keypoints)
        fit_s = time.perf_counter() - t0
        variants = {name: {}}
        if name == "heatmap":  # the same fit, read out both ways
            variants = {"heatmap (soft-argmax)": {}, "heatmap (argmax)": {"decode": "argmax"}}
        for label, params in variants.items():
            est.set_params(**params)
            pred = pipe.predict(test.images)  # in each frame's own pixels
            rows.append(evaluate(label, test.keypoints, pred, fit_s, args.epochs))
            print(format_table(rows[-1:]), flush=True)
    rows.append({"model": "dlib shape predictor (issue #3)", "nme": DLIB_NME})
    print("\n" + format_table([{k: r.get(k, "") for k in rows[0]} for r in rows]))
    save_results(
        f"youtube68_{args.size}", rows, {"peak_rss_mib": peak_rss_mib(), "input_size": size}
    )


if __name__ == "__main__":
    main()
