"""Memory under load (issue #8): training on the full 68-point data, and one predict
call on 100,000 faces.

Each measurement runs in its own process so its peak RSS is its own:

* ``train``: a 68-point ``FaceKeypointRegressor`` (CNN, or ``--model resnet18`` /
  ``heatmap``) fitted for one epoch through ``Grayscale -> Resize(96)`` on YouTube Faces
  train + HELEN (4,332 real faces, loaded as RGB crops; Wolf et al. 2011, Sagonas et al.);
  budget 4 GiB.
* ``predict``: 100,000 grey 96x96 faces (the 770 YouTube test faces, resized and
  repeated) as one uint8 array of 0.92 GB, predicted in one call at batch 256 by the
  CNN, and 10,000 by the U-Net heatmap model; the figure that matters is the peak RSS
  above the input array.

    python benchmarks/bench_memory.py [--n-predict 100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

from _common import save_results
from sklearn_fkd.utils import format_table

BUDGET_MIB = 4096


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def estimator(model: str, **kw):
    from sklearn_fkd import FaceKeypointRegressor, HeatmapKeypointEstimator

    if model == "heatmap":
        return HeatmapKeypointEstimator(**kw)
    return FaceKeypointRegressor(backbone="resnet18" if model == "resnet18" else "cnn", **kw)


def measure_train(model: str) -> dict:
    from sklearn_fkd import make_keypoint_pipeline
    from sklearn_fkd.datasets import load_dataset
    from sklearn_fkd.preprocessing import Grayscale, Resize

    data = load_dataset("youtube:train+helen")
    loaded = rss_mib()
    pipe = make_keypoint_pipeline(
        Grayscale(), Resize((96, 96)), estimator(model, max_epochs=1, random_state=0)
    )
    t0 = time.perf_counter()
    pipe.fit(data.images, data.keypoints)
    return {
        "run": f"train {model}, 1 epoch",
        "images": len(data.images),
        "seconds": round(time.perf_counter() - t0, 1),
        "rss_after_loading_mib": round(loaded),
        "peak_rss_mib": round(rss_mib()),
        "budget_mib": BUDGET_MIB,
    }


def measure_predict(model: str, n: int) -> dict:
    from sklearn_fkd.datasets import load_youtube_faces
    from sklearn_fkd.preprocessing import Grayscale, Resize

    faces = load_youtube_faces("test")
    small = Resize((96, 96)).transform(Grayscale().transform(faces.images))
    y = Resize((96, 96)).transform_keypoints(Grayscale().transform(faces.images), faces.keypoints)
    est = estimator(model, max_epochs=1, random_state=0).fit(small[:256], y[:256])
    X = np.resize(small, (n, 96, 96))  # 770 real faces repeated, one uint8 array
    est.set_params(batch_size=256)
    before = rss_mib()
    t0 = time.perf_counter()
    pred = est.predict(X)
    seconds = time.perf_counter() - t0
    assert pred.shape == (n, 136) and np.isfinite(pred).all()
    return {
        "run": f"predict {model}, one call",
        "images": n,
        "seconds": round(seconds, 1),
        "faces_per_s": round(n / seconds),
        "input_mib": round(X.nbytes / 2**20),
        "peak_rss_before_predict_mib": round(before),
        "peak_rss_mib": round(rss_mib()),
        "output_mib": round(pred.nbytes / 2**20),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-predict", type=int, default=100_000)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, model = args.worker[:2]
        row = measure_train(model) if kind == "train" else measure_predict(model, args.n_predict)
        print(json.dumps(row))
        return
    rows = []
    n = args.n_predict
    # the U-Net runs at about 1/20 of the CNN's speed on the CPU: a tenth of the faces
    jobs = [("train", "cnn", n), ("train", "resnet18", n), ("predict", "cnn", n)]
    jobs.append(("predict", "heatmap", n // 10))
    for kind, model, count in jobs:
        argv = ["--n-predict", str(count), "--worker", kind, model]
        done = subprocess.run(
            [sys.executable, __file__, *argv],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(format_table(rows[-1:]), flush=True)
    save_results("memory", rows)


if __name__ == "__main__":
    main()
