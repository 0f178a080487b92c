"""Per-face prediction time of the shipped models from given boxes: one face per
``predict`` call (what a video or a photo at a time costs) and all faces in one call,
with the NME on the same faces, each model in a fresh process, several rounds, medians.

Faces: the first ``--n`` AFW crops (Zhu & Ramanan 2012; 300-W annotations, Sagonas et
al.), boxes from their true points (no detector).

    python benchmarks/bench_per_face.py [--n 60] [--rounds 3] [--compare-with OLD_CHECKOUT]

``--compare-with`` also runs another checkout's ``sklearn_fkd`` (first on
``PYTHONPATH``), interleaved, and adds its medians as ``before_*`` columns.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np

from _common import commit_of, other_checkout_env, save_results
from sklearn_fkd.utils import format_table

PROBE = """
import json, sys, time
import numpy as np
from sklearn_fkd import load_pretrained
from sklearn_fkd.datasets import load_helen_afw
from sklearn_fkd.geometry import keypoint_boxes
from sklearn_fkd.metrics import nme

name, n = sys.argv[1], int(sys.argv[2])
afw = load_helen_afw("afw")
images = [np.asarray(im) for im in afw.images[:n]]
boxes = keypoint_boxes(afw.keypoints[:n])
model = load_pretrained(name)
if model.schema_.n_points != 68:  # a 15-point model: scored on its points of the 68
    from sklearn_fkd.keypoints import IBUG68, convert_keypoints
    truth = convert_keypoints(afw.keypoints[:n], IBUG68, model.schema_)
else:
    truth = afw.keypoints[:n]
model.predict(images[:1], boxes=boxes[:1])  # the first call's one-off costs
t0 = time.perf_counter()
single = np.concatenate([model.predict(images[i:i + 1], boxes=boxes[i:i + 1]) for i in range(n)])
t1 = time.perf_counter()
model.predict(images, boxes=boxes)
t2 = time.perf_counter()
print(json.dumps({
    "one_per_call_ms": 1000 * (t1 - t0) / n,
    "batched_ms": 1000 * (t2 - t1) / n,
    "nme": float(nme(truth, single)),
}))
"""


def run(name: str, n: int, env: dict | None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, name, str(n)], check=True, capture_output=True,
        text=True, env=env,
    ).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["ibug68", "kaggle15"])
    parser.add_argument("--compare-with", default=None, help="another checkout to time too")
    args = parser.parse_args()
    before_env = other_checkout_env(args.compare_with)
    now: dict[str, list[dict]] = {m: [] for m in args.models}
    before: dict[str, list[dict]] = {m: [] for m in args.models}
    for _ in range(args.rounds):
        for name in args.models:
            now[name].append(run(name, args.n, None))
            if before_env is not None:
                before[name].append(run(name, args.n, before_env))
    rows = []
    for name in args.models:
        row = {"model": name, "faces": args.n}
        for key in ("one_per_call_ms", "batched_ms", "nme"):
            row[key] = round(float(np.median([r[key] for r in now[name]])), 4)
        if before[name]:
            for key in ("one_per_call_ms", "batched_ms", "nme"):
                row[f"before_{key}"] = round(float(np.median([r[key] for r in before[name]])), 4)
        rows.append(row)
    print(format_table(rows))
    extra = {"rounds": args.rounds}
    if args.compare_with:
        extra["before"] = commit_of(args.compare_with)
    save_results("per_face", rows, extra)


if __name__ == "__main__":
    main()
