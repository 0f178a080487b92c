"""The ibug68 recipe's levers at full length, many at once on a GPU machine (issue #15).

On 2 CPU cores a full-length fit of the recipe takes an hour, so ``bench_68.py
--ablation`` measures its levers at 12 epochs. Where a GPU machine is lent, this script
trains many levers at once on it (one process per lever, all sharing the GPU), each for
as many epochs as fit in a time budget: the same number for every lever that costs what
the recipe costs, so their rows compare with the ``recipe`` row of the same run.

    python benchmarks/bench_68_gpu.py prep DIR     # here: a compact copy of the faces
    SKLEARN_FKD_DATA=DIR python benchmarks/bench_68_gpu.py run RAW.json --budget 480 \\
        --lever recipe --lever sigma2 ...          # on the GPU machine
    python benchmarks/bench_68_gpu.py record RAW.json [RAW2.json ...]
                                                   # here: results/68points_gpu_levers.json

The GPU machine's copy of the working tree is limited to 64 MiB, so ``prep`` writes the
training and test faces (Wolf et al. 2011; 300-W, Sagonas et al.: HELEN, LFPW, AFW) as
grey JPEGs (quality 88) at most 160 px on the longer side, with their points rescaled.
The recipe cropped and resized them to 128 px when the recorded runs were made, so little
was lost; at its 160 px now the face crops are enlarged a little (larger copies would
not fit the 64 MiB). They are not the benchmark's exact images. dlib is not on that
machine either: the training boxes are jittered by the scatter of dlib's HOG detector
that ``prep`` measures on the full-size faces (``FaceCrop.detector_noise_``), and the
faces are predicted from their true boxes. Compare the rows with each other and with
their run's ``recipe`` row, not with ``68points_recipe.json``; ``record`` adds the mean
training shape and the peers (``bench_peers.py``, on the full-size images; NME does not
depend on the scale).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from bench_68 import TESTS, TRAIN, mean_shape_rows, metrics, peer_rows, recipe_pipeline
from levers import COSTLIER, GPU_ABLATION, LEVERS

import _common
from sklearn_fkd.datasets import load_dataset
from sklearn_fkd.geometry import keypoint_boxes
from sklearn_fkd.preprocessing import FaceCrop
from sklearn_fkd.recipes import RECIPES

#: the compact copy's longer side (px) and JPEG quality
PREP_SIDE, PREP_QUALITY = 160, 88
#: the recipe's epochs (the runs recorded in results/ used 72, its setting then)
RECIPE_EPOCHS = RECIPES["ibug68"]["estimator"]["max_epochs"]
#: what ``prep`` writes beside the faces: the HOG detector's box scatter on the full faces
SCATTER_FILE = "hog_box_scatter.json"
#: the levers run here (levers.py), each with whether it costs what the recipe does
GPU_LEVERS = {name: (*LEVERS[name], name not in COSTLIER) for name in GPU_ABLATION}
#: seconds each lever keeps for preprocessing and evaluation after training
RESERVE_S = 60


def prep(dest: Path) -> None:
    """Write the compact copy of the faces to ``dest`` (and the HOG scatter)."""
    import pandas as pd
    from PIL import Image

    source = Path(os.environ["SKLEARN_FKD_DATA"])

    def shrink(src: Path, dst: Path) -> tuple[float, float]:
        image = Image.open(src).convert("L")
        w, h = image.size
        s = min(1.0, PREP_SIDE / max(w, h))
        if s < 1:
            image = image.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
        dst.parent.mkdir(parents=True, exist_ok=True)
        image.save(dst, quality=PREP_QUALITY)
        return image.size[0] / w, image.size[1] / h

    def rescaled(v, s):  # 0-based pixel centres
        return (v + 0.5) * s - 0.5

    for split in ("training", "test"):
        folder = "youtube_faces_68pt"
        table = pd.read_csv(source / folder / f"{split}_frames_keypoints.csv", index_col=0)
        values = table.to_numpy(dtype=float)
        for i, name in enumerate(table.index):
            sx, sy = shrink(source / folder / split / name, dest / folder / split / name)
            values[i, 0::2] = rescaled(values[i, 0::2], sx)
            values[i, 1::2] = rescaled(values[i, 1::2], sy)
        out = pd.DataFrame(values, index=table.index, columns=table.columns)
        out.to_csv(dest / folder / f"{split}_frames_keypoints.csv")
    for sub in ("helen_trainset", "lfpw_trainset", "afw"):
        folder = Path("helen_afw_68pt") / sub
        for pts in sorted((source / folder).glob("*.pts")):
            image = next(p for p in (source / folder).glob(f"{pts.stem}.*") if p.suffix != ".pts")
            sx, sy = shrink(image, dest / folder / f"{pts.stem}.jpg")
            lines = []
            for line in pts.read_text().splitlines():
                try:
                    x, y = (float(v) for v in line.split())
                except ValueError:  # header, braces
                    lines.append(line)
                    continue
                lines.append(f"{rescaled(x - 1, sx) + 1:.4f} {rescaled(y - 1, sy) + 1:.4f}")
            (dest / folder / pts.name).write_text("\n".join(lines) + "\n")
    train = load_dataset(TRAIN)
    crop = FaceCrop(margin=0.25, detector="hog").fit(list(train.images), train.keypoints)
    (dest / SCATTER_FILE).write_text(json.dumps(crop.detector_noise_.tolist()))
    print(f"wrote {dest}; HOG box scatter {crop.detector_noise_}")


def lever_pipeline(name: str, epochs: int, scatter):
    """The recipe with a lever's changes (on the GPU, as ``device="auto"`` finds it),
    its training boxes jittered by the HOG detector's ``scatter`` without a detector."""
    _, changes, _ = GPU_LEVERS[name]
    pipe = recipe_pipeline(changes, epochs, seed=0)
    return pipe.set_params(facecrop__detector=None, facecrop__jitter=tuple(scatter))


def run_lever(name: str, work: Path, deadline: float, n_levers: int, max_epochs: int) -> None:
    """One lever: time two epochs on 1,024 faces, agree on the epochs with the others,
    train, evaluate from the true boxes, write ``work/NAME.json``."""
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore", UserWarning)
    scatter = json.loads((Path(os.environ["SKLEARN_FKD_DATA"]) / SCATTER_FILE).read_text())
    data = load_dataset(TRAIN)
    images, keypoints = list(data.images), data.keypoints
    sample = np.random.default_rng(0).choice(len(images), 1024, replace=False)
    probe = lever_pipeline(name, 2, scatter).fit([images[i] for i in sample], keypoints[sample])
    epoch_s = float(probe[-1].history[-1, "dur"]) * len(images) / 1024 * 1.1
    same_cost = GPU_LEVERS[name][2]
    (work / f"{name}.timing").write_text(json.dumps({"s": epoch_s, "same_cost": same_cost}))
    waited = time.time()
    while len(list(work.glob("*.timing"))) < n_levers and time.time() - waited < 150:
        time.sleep(1)
    timings = [json.loads(p.read_text()) for p in work.glob("*.timing")]
    if same_cost:  # the slowest of the recipe-cost levers sets their common epochs
        epoch_s = max(t["s"] for t in timings if t["same_cost"])
    epochs = int(max(1, min(max_epochs, (deadline - time.time() - RESERVE_S) // epoch_s)))
    print(f"[{name}] {epoch_s:.2f} s per epoch -> {epochs} epochs", flush=True)
    pipe = lever_pipeline(name, epochs, scatter)
    t0 = time.perf_counter()
    pipe.fit(images, keypoints)
    row = {"lever": name, "epochs": epochs, "train_s": round(time.perf_counter() - t0)}
    for test_name, spec in TESTS.items():
        test = load_dataset(spec)
        pred = pipe.predict(list(test.images), boxes=keypoint_boxes(test.keypoints))
        row[test_name] = metrics(test.keypoints, pred, mean_shape_nme=1.0)  # ratio: record
    (work / f"{name}.json").write_text(json.dumps(row, default=_common._jsonable))
    print(f"[{name}] {row}", flush=True)


def run(raw: Path, budget: float, levers: list[str], max_epochs: int = RECIPE_EPOCHS) -> None:
    """Train ``levers`` at once, one process each; write what finished to ``raw``
    (rewritten as they finish) and the processes' log beside it: two files, as the GPU
    machine returns only a few (the processes' own files stay in a temporary folder)."""
    start = time.time()
    work = Path(tempfile.mkdtemp(prefix="bench_68_gpu_"))
    raw.parent.mkdir(parents=True, exist_ok=True)
    deadline = start + budget
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    with open(raw.with_suffix(".log"), "w") as log:
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "lever",
                    name,
                    str(work),
                    str(deadline),
                    str(len(levers)),
                    str(max_epochs),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
            for name in levers
        ]

        machine = _common.machine()

        def write() -> list[dict]:
            rows = [json.loads(p.read_text()) for p in sorted(work.glob("*.json"))]
            done = {r["lever"] for r in rows}
            unfinished = [name for name in levers if name not in done]
            payload = {"machine": machine, "budget_s": budget, "rows": rows,
                       "unfinished": unfinished}  # fmt: skip
            raw.write_text(json.dumps(payload, indent=1))
            return rows

        while any(p.poll() is None for p in procs) and time.time() < deadline + 45:
            time.sleep(5)
            write()
        for p in procs:
            if p.poll() is None:
                p.kill()
    rows = write()
    print(f"{len(rows)} of {len(levers)} levers in {time.time() - start:.0f} s")


def record(raws: list[Path]) -> None:
    """``results/68points_gpu_levers.json`` from the runs' raw files: per test set, the
    mean training shape, the peers, then each lever with its ratio to the mean shape and
    to its run's recipe row (when that run trained the recipe for as many epochs)."""
    tests = {name: load_dataset(spec) for name, spec in TESTS.items()}
    rows, base = mean_shape_rows(load_dataset(TRAIN), tests)
    rows += peer_rows(base)
    runs = [json.loads(p.read_text()) for p in raws]
    order = list(GPU_LEVERS)
    for run_no, payload in enumerate(runs, 1):
        recipe = {r["epochs"]: r for r in payload["rows"] if r["lever"] == "recipe"}
        for r in sorted(payload["rows"], key=lambda r: order.index(r["lever"])):
            for test_name in TESTS:
                reference = recipe.get(r["epochs"])
                rows.append(
                    {
                        "test_set": test_name,
                        "model": GPU_LEVERS[r["lever"]][0],
                        "run": run_no,
                        "epochs": r["epochs"],
                        "train_s": r["train_s"],
                        "nme": r[test_name]["nme"],
                        "ratio_to_mean_shape": r[test_name]["nme"] / base[test_name],
                        "ratio_to_recipe": r[test_name]["nme"] / reference[test_name]["nme"]
                        if reference
                        else None,
                        "pck@0.05": r[test_name]["pck@0.05"],
                        "fr@0.10": r[test_name]["fr@0.10"],
                    }
                )
        for name in payload["unfinished"]:
            rows.append({"model": GPU_LEVERS[name][0], "run": run_no, "nme": "not finished"})
    first = runs[0]["machine"]
    _common.save_results(
        "68points_gpu_levers",
        rows,
        {
            "machine": {**first, "command": "bench_68_gpu.py run (see the runs' commands)"},
            "runs": [
                {"run": i, **p["machine"], "budget_s": p["budget_s"]}
                for i, p in enumerate(runs, 1)
            ],
            "recorded_by": _common.machine()["command"],
        },
    )


def main(argv=None) -> None:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "lever":  # one lever's process
        name, work, deadline, n_levers, max_epochs = sys.argv[2:7]
        return run_lever(name, Path(work), float(deadline), int(n_levers), int(max_epochs))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prep").add_argument("dest", type=Path)
    run_args = sub.add_parser("run")
    run_args.add_argument("raw", type=Path)
    run_args.add_argument("--budget", type=float, default=480, help="seconds, all levers")
    run_args.add_argument("--lever", choices=list(GPU_LEVERS), action="append")
    run_args.add_argument(
        "--max-epochs", type=int, default=RECIPE_EPOCHS, help=f"the recipe's: {RECIPE_EPOCHS}"
    )
    sub.add_parser("record").add_argument("raws", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if args.command == "prep":
        prep(args.dest)
    elif args.command == "run":
        run(args.raw, args.budget, args.lever or list(GPU_LEVERS), args.max_epochs)
    else:
        record(args.raws)


if __name__ == "__main__":
    main()
