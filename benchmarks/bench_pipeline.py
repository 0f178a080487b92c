"""Keypoint pipelines on real images of many sizes: face detector and crops (issue #4).

1. The offline LBP face detector (scikit-image's cascade) on YouTube Faces test frames
   (Wolf et al. 2011) and AFW (300-W, Sagonas et al.): hit rate, time per image, and
   how far its calibrated boxes are from the keypoints' boxes.
2. A CNN trained on YouTube Faces through ``FaceCrop -> Grayscale -> Resize`` (crops
   from the true points at fit), predicted from the true boxes and from the detector,
   against the same model trained on the given frames (already face crops) resized
   whole. Every error is in each test image's own pixels.

    python benchmarks/bench_pipeline.py [--size 64] [--epochs 10]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from _common import RESULTS, peak_rss_mib, plot_best_worst, save_results
from sklearn_fkd import IBUG68, FaceKeypointRegressor, make_keypoint_pipeline
from sklearn_fkd.datasets import load_helen_afw, load_youtube_faces
from sklearn_fkd.geometry import keypoint_boxes
from sklearn_fkd.metrics import mean_keypoint_error, nme, pck
from sklearn_fkd.preprocessing import FaceCrop, Grayscale, Resize
from sklearn_fkd.utils import format_table


def detector_row(name, train, test) -> dict:
    crop = FaceCrop().fit(train.images, train.keypoints)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        boxes = crop.face_boxes(test.images)
    per_image = (time.perf_counter() - t0) / len(test.images)
    truth = keypoint_boxes(test.keypoints)
    found = ~np.isnan(boxes).any(axis=1)
    side = (truth[:, 2:] - truth[:, :2]).max(axis=1)
    diff = boxes - truth
    centre = np.linalg.norm(diff[:, :2] + diff[:, 2:], axis=1) / 2
    return {
        "data": name,
        "images": len(test.images),
        "calibration_hit_rate": crop.detector_hit_rate_,
        "test_hit_rate": float(found.mean()),
        "ms_per_image": 1000 * per_image,
        "median_centre_err/side": float(np.median(centre[found] / side[found])),
        "median_side_ratio": float(
            np.median((boxes[found, 2:] - boxes[found, :2]).max(axis=1) / side[found])
        ),
    }


def evaluate(name, truth, pred, fit_s) -> dict:
    return {
        "model": name,
        "train_s": round(fit_s),
        "nme": nme(truth, pred, schema=IBUG68),
        "pck@0.05": pck(truth, pred, alpha=0.05, schema=IBUG68),
        "mean_px": mean_keypoint_error(truth, pred),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train, test = load_youtube_faces("train"), load_youtube_faces("test")
    helen, afw = load_helen_afw("helen"), load_helen_afw("afw")

    detection = [detector_row("youtube test", train, test), detector_row("afw", helen, afw)]
    print(format_table(detection), flush=True)

    def model():
        return FaceKeypointRegressor(max_epochs=args.epochs, batch_size=16, random_state=args.seed)

    rows = []
    whole = make_keypoint_pipeline(Grayscale(), Resize(args.size), model())
    t0 = time.perf_counter()
    whole.fit(train.images, train.keypoints)
    fit_s = time.perf_counter() - t0
    rows.append(
        evaluate("given frames, resized", test.keypoints, whole.predict(test.images), fit_s)
    )
    print(format_table(rows[-1:]), flush=True)

    cropped = make_keypoint_pipeline(FaceCrop(), Grayscale(), Resize(args.size), model())
    t0 = time.perf_counter()
    cropped.fit(train.images, train.keypoints)
    fit_s = time.perf_counter() - t0
    boxes = keypoint_boxes(test.keypoints)
    pred = cropped.predict(test.images, boxes=boxes)
    rows.append(evaluate("FaceCrop, true boxes", test.keypoints, pred, fit_s))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pred = cropped.predict(test.images)
    rows.append(evaluate("FaceCrop, LBP detector", test.keypoints, pred, fit_s))
    plot_best_worst(
        test.images,
        test.keypoints,
        pred,
        IBUG68,
        "interocular",
        cropped[-1],
        RESULTS / f"pipeline_facecrop_detector_{args.size}.png",
    )
    print("\n" + format_table(rows))
    save_results(
        "pipeline",
        rows,
        {
            "detection": detection,
            "input_size": args.size,
            "epochs": args.epochs,
            "peak_rss_mib": peak_rss_mib(),
        },
    )


if __name__ == "__main__":
    main()
