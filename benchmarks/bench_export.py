"""The photo graph of ``export_onnx(model, path, photo=True)`` against ``predict``, for
the shipped models: how far its points are from ``predict``'s, and the time per face,
one face per call, on one thread, on the same AFW faces (Zhu & Ramanan 2012; 300-W
annotations, Sagonas et al.) from their true boxes. Rounds interleave the two; medians.

    python benchmarks/bench_export.py [--faces 60] [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from _common import save_results
from sklearn_fkd import load_pretrained
from sklearn_fkd.datasets import load_helen_afw
from sklearn_fkd.export import export_onnx
from sklearn_fkd.geometry import keypoint_boxes
from sklearn_fkd.utils import format_table
from sklearn_fkd.utils.optional import import_extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ort = import_extra("onnxruntime", "bench_export.py")
    warnings.simplefilter("ignore")
    afw = load_helen_afw("afw")
    faces = [np.asarray(im) for im in afw.images[: args.faces]]
    boxes = keypoint_boxes(afw.keypoints[: args.faces])
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in ("ibug68_fast", "ibug68"):
            model = load_pretrained(name)
            t0 = time.perf_counter()
            path = export_onnx(model, Path(folder) / f"{name}.onnx", photo=True)
            export_s = time.perf_counter() - t0
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            session = ort.InferenceSession(str(path), options)

            def graph(i, session=session):
                return session.run(None, {"image": faces[i], "boxes": boxes[i : i + 1]})[0]

            def predict(i, model=model):
                return model.predict(faces[i : i + 1], boxes=boxes[i : i + 1])

            diff = max(
                float(np.abs(graph(i).reshape(1, -1) - predict(i)).max())
                for i in range(len(faces))
            )
            times = {"graph": [], "predict": []}
            for _ in range(args.rounds):
                for label, run in (("graph", graph), ("predict", predict)):
                    t0 = time.perf_counter()
                    for i in range(len(faces)):
                        run(i)
                    times[label].append(1000 * (time.perf_counter() - t0) / len(faces))
            rows.append(
                {
                    "model": name,
                    "graph_ms_per_face": round(float(np.median(times["graph"])), 2),
                    "predict_ms_per_face": round(float(np.median(times["predict"])), 2),
                    "max_abs_diff_px": float(f"{diff:.2g}"),
                    "graph_mib": round(path.stat().st_size / 2**20, 2),
                    "export_s": round(export_s, 1),
                }
            )
    print(format_table(rows))
    save_results("export", rows, {"faces": len(faces), "rounds": args.rounds})


if __name__ == "__main__":
    main()
