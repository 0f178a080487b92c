"""Turned heads (issue #46): NME by head yaw on the held-out in-the-wild faces, for the
shipped models, the mean shape, dlib and MediaPipe, on the same faces.

The faces: AFW (Zhu & Ramanan 2012; 300-W annotations, Sagonas et al.) and the YouTube
Faces test frames (Wolf et al. 2011), 1,107 faces that ``ibug68_fast`` never saw. Each
face's yaw is :class:`~sklearn_fkd.face_features.HeadPose` of its annotated points
(the nose and eyes fitted by the 3D mean face), binned by |yaw| into 0-30, 30-60 and
60-90 degrees. The error is the large-pose protocol's NME, the mean point error over
the square root of the true points' box area (``nme(..., normalize="bbox")``), per bin
and as the balanced mean of the bins; FR is the share of faces above 0.10 of that.

Rows: the mean training shape placed in the true box (the baseline); ``ibug68_fast``
(held out) and ``ibug68`` (these faces are in its training data: a training-set
figure) from the true boxes and through their own HOG detector; dlib's shape predictor
(on its HOG box, the true box where HOG misses; trained on 300-W, AFW included) and
MediaPipe's face mesh mapped to 68 points, read from the predictions
``bench_peers.py`` saves (run it first in ``.venv-peers``; without them their rows are
missing and the script says so).

    python benchmarks/bench_large_pose.py
"""

from __future__ import annotations

import warnings

import numpy as np

from _common import OUTPUT, save_results
from sklearn_fkd import load_pretrained
from sklearn_fkd.datasets import load_helen_afw, load_youtube_faces
from sklearn_fkd.face_features import HeadPose
from sklearn_fkd.geometry import keypoint_boxes
from sklearn_fkd.metrics import per_image_nme
from sklearn_fkd.utils import format_table

BINS = ((0, 30), (30, 60), (60, 90))
FAILURE = 0.10


def mean_shape_in_boxes(train_points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """The mean training shape, normalised to its box, placed in each of ``boxes``."""
    own = keypoint_boxes(train_points)
    pts = train_points.reshape(len(own), -1, 2)
    unit = np.nanmean((pts - own[:, None, :2]) / (own[:, None, 2:] - own[:, None, :2]), axis=0)
    placed = boxes[:, None, :2] + unit[None] * (boxes[:, None, 2:] - boxes[:, None, :2])
    return placed.reshape(len(boxes), -1)


def in_bin(yaw: np.ndarray, low: float, high: float) -> np.ndarray:
    """Faces whose |yaw| is in ``[low, high)`` (the last bin open above)."""
    turned = np.abs(yaw)
    return (turned >= low) & ((turned < high) if high < BINS[-1][1] else True)


def pose_row(label: str, truth: np.ndarray, pred: np.ndarray, yaw: np.ndarray, **extra):
    """NME (box-area normalised) per |yaw| bin, balanced mean and failure rate; faces a
    peer found no points for are counted as ``missed`` and left out of the means."""
    found = np.isfinite(pred).all(axis=1)
    errors = np.full(len(truth), np.nan)
    errors[found] = per_image_nme(truth[found], pred[found], normalize="bbox")
    row = {"model": label, **extra}
    means = []
    for low, high in BINS:
        inside = in_bin(yaw, low, high) & found
        value = float(np.nanmean(errors[inside])) if inside.any() else None
        row[f"nme_{low}_{high}"] = value
        means.append(value)
    row["balanced_nme"] = float(np.mean([m for m in means if m is not None]))
    row[f"fr@{FAILURE:.2f}"] = float(np.mean(errors[np.isfinite(errors)] > FAILURE))
    row["missed"] = int((~found).sum())
    return row


def main() -> None:
    warnings.simplefilter("ignore")
    sets = {"AFW": load_helen_afw("afw"), "YouTube test": load_youtube_faces("test")}
    images = [np.asarray(im) for data in sets.values() for im in data.images]
    truth = np.concatenate([data.keypoints for data in sets.values()])
    names = np.concatenate([[name] * len(data.keypoints) for name, data in sets.items()])
    boxes = keypoint_boxes(truth)
    yaw = HeadPose().fit_transform(truth)[:, 0]
    counts = {
        f"{lo}-{hi}": int(((np.abs(yaw) >= lo) & (np.abs(yaw) < hi)).sum()) for lo, hi in BINS
    }
    print("faces per |yaw| bin:", counts, flush=True)
    train = np.concatenate(
        [load_helen_afw(s).keypoints for s in ("helen", "lfpw")]
        + [load_youtube_faces("train").keypoints]
    )
    rows = [pose_row("mean training shape in the true box", truth,
                     mean_shape_in_boxes(train, boxes), yaw, boxes="true boxes")]  # fmt: skip
    for name in ("ibug68_fast", "ibug68"):
        model = load_pretrained(name)
        held = "held out" if name == "ibug68_fast" else "in its training data"
        for label, given in (("true boxes", {"boxes": boxes}), ("own detector", {})):
            pred = model.predict(images, **given)
            rows.append(pose_row(name, truth, pred, yaw, boxes=label, faces=held))
            print(format_table(rows[-1:]), flush=True)
    peers = OUTPUT / "peer_predictions.npz"
    if peers.is_file():
        saved = np.load(peers)
        for key, label in (("dlib", "dlib shape predictor"), ("mediapipe", "MediaPipe mesh")):
            if all(f"{key}/{name}" in saved for name in sets):
                pred = np.concatenate([saved[f"{key}/{name}"] for name in sets])
                boxes_used = (
                    "its HOG box (true box where HOG misses)" if key == "dlib" else "its own"
                )
                held = "AFW in its training data" if key == "dlib" else "held out"
                rows.append(pose_row(label, truth, pred, yaw, boxes=boxes_used, faces=held))
    else:
        print(f"no peer rows: {peers} not found (run bench_peers.py in .venv-peers first)")
    print(format_table(rows))
    save_results("large_pose", rows, {"faces_per_bin": [counts], "sets": sorted(set(names))})


if __name__ == "__main__":
    main()
