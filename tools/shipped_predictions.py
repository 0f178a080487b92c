"""Predictions of the shipped models on 10 AFW photos, to check that a refactor leaves
them unchanged (issue 43 asks for 1e-6 px).

    python tools/shipped_predictions.py before.npz        # on the old code
    python tools/shipped_predictions.py after.npz         # on the new code
    python tools/shipped_predictions.py --compare before.npz after.npz
    python tools/shipped_predictions.py --backend onnxruntime after_ort.npz

Needs the data home (``SKLEARN_FKD_DATA``) for the AFW photos; run the old code from a
worktree with ``PYTHONPATH=/path/to/worktree``.
"""

from __future__ import annotations

import argparse

import numpy as np

from sklearn_fkd import load_pretrained
from sklearn_fkd.datasets import load_dataset
from sklearn_fkd.geometry import keypoint_boxes


def predictions(backend: str | None = None) -> dict[str, np.ndarray]:
    """``backend``: the estimators' inference backend (code older than it has none)."""
    afw = load_dataset("afw")
    photos, boxes = list(afw.images[:10]), keypoint_boxes(afw.keypoints[:10])
    ibug68, kaggle15 = load_pretrained("ibug68"), load_pretrained("kaggle15")
    if backend is not None:
        for model in (ibug68, kaggle15):
            model[-1].set_params(backend=backend)
    points, confidence = ibug68.predict(photos, boxes=boxes, return_confidence=True)
    return {
        "ibug68_detector": ibug68.predict(photos),
        "ibug68_boxes": points,
        "ibug68_confidence": confidence,
        "kaggle15_detector": kaggle15.predict(photos),
        "kaggle15_boxes": kaggle15.predict(photos, boxes=boxes),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    parser.add_argument("--backend", default=None, help="torch, onnxruntime or auto")
    args = parser.parse_args()
    if not args.compare:
        np.savez(args.files[0], **predictions(args.backend))
        return 0
    before, after = (np.load(f) for f in args.files[:2])
    worst = 0.0
    for key in before.files:
        diff = float(np.nanmax(np.abs(before[key] - after[key])))
        worst = max(worst, diff)
        print(f"{key:18s} max |difference| {diff:.3g}")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    raise SystemExit(main())
