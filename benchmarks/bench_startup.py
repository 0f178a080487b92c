"""Start-up: what a user waits for before the first points, each step in a fresh
process, several rounds, medians (seconds of wall time on this machine).

Rows: ``import torch`` alone; ``import torch, skorch`` (torch and scikit-learn, the
floor of any skorch estimator); ``import sklearn_fkd``; ``load_pretrained("ibug68")``
in a fresh process (imports included); its first and second ``predict`` of one photo
(a London face, 450x450, through its own detector), and the first again in a process
whose cache of exported onnxruntime graphs is empty (the export's cost, paid once per
model and machine); and the command line's
``sklearn-fkd predict photo.jpg`` (one face, points and the drawn PNG written), whole
process. Photos: Face Research Lab London Set (DeBruine & Jones 2017, CC BY 4.0).

    python benchmarks/bench_startup.py [--rounds 5] [--compare-with OLD_CHECKOUT]

``--compare-with`` also runs every step with another checkout's ``sklearn_fkd`` first
on ``PYTHONPATH`` (e.g. ``git worktree add /tmp/old fb36d82``), interleaved, and adds
its medians as ``before_s``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import commit_of, other_checkout_env, save_results
from sklearn_fkd.datasets import get_data_home
from sklearn_fkd.utils import format_table

PREDICT = """
import json, sys, time
t0 = time.perf_counter()
from sklearn_fkd import load_pretrained
model = load_pretrained("ibug68")
t1 = time.perf_counter()
model.predict([sys.argv[1]])
t2 = time.perf_counter()
model.predict([sys.argv[2]])
t3 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "first": t2 - t1, "second": t3 - t2}))
"""


def wall(argv: list[str], env: dict | None = None) -> float:
    """Seconds of one process, start to exit."""
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def one_round(py: str, photos: list[Path], env: dict | None) -> dict[str, float]:
    """Every step once, each in a fresh process under ``env``."""
    cli = [py, "-c", "import sys; from sklearn_fkd.cli import main; sys.exit(main())"]
    times = {
        "import torch": wall([py, "-c", "import torch"], env),
        "import torch, skorch": wall([py, "-c", "import torch, skorch"], env),
        "import sklearn_fkd": wall([py, "-c", "import sklearn_fkd"], env),
    }
    out = subprocess.run(
        [py, "-c", PREDICT, *map(str, photos)], check=True, capture_output=True, text=True,
        env=env,
    ).stdout  # fmt: skip
    steps = json.loads(out.strip().splitlines()[-1])
    times["load_pretrained (fresh process)"] = steps["load"]
    times["first predict, one photo"] = steps["first"]
    times["second predict, one photo"] = steps["second"]
    with tempfile.TemporaryDirectory() as empty:  # no exported graph kept from before
        out = subprocess.run(
            [py, "-c", PREDICT, *map(str, photos)], check=True, capture_output=True,
            text=True, env={**(env or os.environ), "SKLEARN_FKD_CACHE": empty},
        ).stdout  # fmt: skip
    cold = json.loads(out.strip().splitlines()[-1])
    times["first predict, one photo, graph not cached"] = cold["first"]
    with tempfile.TemporaryDirectory() as folder:
        times["sklearn-fkd predict photo.jpg (process)"] = wall(
            [*cli, "predict", str(photos[0]), "--output", folder], env
        )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--compare-with", default=None, help="another checkout to time too")
    args = parser.parse_args()
    photos = sorted((get_data_home() / "london_face_189pt").glob("*.jpg"))[:2]
    if len(photos) < 2:
        sys.exit(f"the London faces are needed in {get_data_home()}")
    py = sys.executable
    # exported inference graphs are kept in a folder of this run (warm after the first
    # process; the "graph not cached" row starts each time from an empty one)
    os.environ["SKLEARN_FKD_CACHE"] = tempfile.mkdtemp(prefix="bench-startup-graphs-")
    before_env = other_checkout_env(args.compare_with)
    times: dict[str, list[float]] = {}
    before: dict[str, list[float]] = {}
    for _ in range(args.rounds):  # interleaved, so a slow spell hits every row alike
        for step, value in one_round(py, photos, None).items():
            times.setdefault(step, []).append(value)
        if before_env is not None:
            for step, value in one_round(py, photos, before_env).items():
                before.setdefault(step, []).append(value)
    torch_s = float(np.median(times["import torch"]))
    rows = []
    for step, values in times.items():
        row = {
            "step": step,
            "median_s": round(float(np.median(values)), 3),
            "min_s": round(float(np.min(values)), 3),
            "max_s": round(float(np.max(values)), 3),
            "x_import_torch": round(float(np.median(values)) / torch_s, 2),
        }
        if before:
            row["before_s"] = round(float(np.median(before[step])), 3)
        rows.append(row)
    print(format_table(rows))
    extra = {"rounds": args.rounds}
    if args.compare_with:
        extra["before"] = commit_of(args.compare_with)
    save_results("startup", rows, extra)


if __name__ == "__main__":
    main()
