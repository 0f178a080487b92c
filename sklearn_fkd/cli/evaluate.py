"""``sklearn-fkd evaluate``: score saved models on a data set (a table, a CED plot,
best and worst faces)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from ..keypoints import convert_keypoints
from ..metrics import (
    ced_auc,
    failure_rate,
    fallback_normalizing_distance,
    keypoint_rmse,
    mean_keypoint_error,
    nme,
    pck,
    per_image_nme,
)
from ..plotting import plot_best_worst, plot_ced
from ..utils.tables import format_table
from . import CommandError
from .common import load_data, load_model_for


def run(args) -> None:
    """Score each model on the data set; print the table, write the figures."""
    models = {path: load_model_for(path, args) for path in args.models}  # fail before loading data
    data = load_data(args.data, args.data_home)
    rows, errors, preds = [], {}, {}
    for path, model in models.items():
        schema = model.schema_ if hasattr(model, "schema_") else data.schema
        truth = data.keypoints
        if schema.name != data.schema.name:
            try:
                truth = convert_keypoints(truth, data.schema, schema)
            except ValueError as exc:
                raise CommandError(
                    f"{path} predicts {schema.name} points; {args.data} has {data.schema.name}"
                ) from exc
        t0 = time.perf_counter()
        pred = model.predict(data.images)
        ms = 1000 * (time.perf_counter() - t0) / len(pred)
        kw = {"schema": schema, "normalize": _normalizer(args.normalize, schema, data)}
        label = Path(path).stem
        rows.append(
            {
                "model": label,
                "images": len(pred),
                "mean_px": mean_keypoint_error(truth, pred),
                "rmse_px": keypoint_rmse(truth, pred),
                "nme": nme(truth, pred, **kw),
                "pck@0.05": pck(truth, pred, alpha=0.05, **kw),
                "auc@0.08": ced_auc(truth, pred, threshold=0.08, **kw),
                "fr@0.10": failure_rate(truth, pred, threshold=0.10, **kw),
                "ms_per_image": ms,
            }
        )
        errors[label] = per_image_nme(truth, pred, **kw)
        preds[label] = (truth, pred, schema, kw["normalize"])
    print(format_table(rows))
    if args.output:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps({"data": args.data, "rows": rows}, indent=2))
        matplotlib.use("Agg")
        ax = plot_ced(
            errors,
            max_error=max(0.1, float(np.nanpercentile(np.concatenate(list(errors.values())), 95))),
        )
        ax.set_title(f"cumulative error distribution on {args.data}", fontsize=9)
        ax.figure.savefig(out / "ced.png", dpi=100, bbox_inches="tight")
        plt.close(ax.figure)
        written = ["metrics.json", "ced.png"]
        for label, (truth, pred, schema, norm) in preds.items():
            n = min(3, len(pred) // 2)
            if n:
                fig = plot_best_worst(data.images, truth, pred, schema, norm, n=n)
                fig.savefig(out / f"{label}_best_worst.png", dpi=90)
                plt.close(fig)
                written.append(f"{label}_best_worst.png")
        print(f"written to {out}/: {', '.join(written)}")


def _normalizer(normalize: str, schema, data):
    """What NME divides by: the model's own eye pair, else (a nose model) the library's
    one rule for points without a pair (the eye distance of the data's full annotation,
    else each image's diagonal)."""
    if schema.normalizing_pair is not None or (normalize == "bbox" and schema.n_points > 1):
        return normalize
    return fallback_normalizing_distance(data.keypoints, data.images, data.schema)
