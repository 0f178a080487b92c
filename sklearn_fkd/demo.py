"""The README's main job: train and evaluate on the IMM faces, write figures.

Trains a :class:`NoseRegressor`, a :class:`FaceKeypointRegressor` and a
:class:`HeatmapKeypointEstimator` on persons 1-32 of the IMM face database (Nordstrøm et
al. 2004; Stegmann et al. 2003) and evaluates them on the unseen persons 33-40 in the
original 640x480 pixels, beside the mean-shape baseline.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import plotting
from .callbacks import EpochProgressBar
from .datasets import load_imm_faces
from .estimators import FaceKeypointRegressor, HeatmapKeypointEstimator, NoseRegressor
from .keypoints import IMM58, NOSE, convert_keypoints
from .metrics import (
    fallback_normalizing_distance,
    mean_keypoint_error,
    nme,
    pck,
    per_image_nme,
)
from .pipeline import make_keypoint_pipeline
from .preprocessing import Resize
from .utils.tables import format_table

FIRST_TEST_PERSON = 33
INPUT_SIZE = (120, 160)  # (height, width): a quarter of 640x480
HEATMAP_INPUT_SIZE = (48, 64)


def run_demo(
    output: str | Path = "demo_output", data_home=None, max_epochs: int = 60, random_state=0
) -> list[dict]:
    """Train, evaluate and plot on IMM; print and return the table rows.

    Fits a :class:`NoseRegressor` and a :class:`FaceKeypointRegressor` at 160x120, and a
    :class:`HeatmapKeypointEstimator` at 64x48 for half the epochs, on persons 1-32;
    scores them and the mean shape on persons 33-40; writes ``imm58_best_worst.png``,
    ``loss_curves.png``, ``filters.png``, ``heatmaps.png`` and ``ced.png``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    imm = load_imm_faces(data_home=data_home, as_gray=True)
    print(
        f"IMM faces: {len(imm.images)} images of {imm.images.shape[2]}x"
        f"{imm.images.shape[1]}, {imm.schema.n_points} points, "
        f"{len(np.unique(imm.groups))} persons (loaded in {time.perf_counter() - t0:.1f} s)"
    )
    test = imm.groups >= FIRST_TEST_PERSON
    # the nose's NME: by the eye distance of the full annotation, as the scorers do
    interocular = fallback_normalizing_distance(imm.keypoints[test], schema=IMM58)
    print(
        f"train: persons 1-{FIRST_TEST_PERSON - 1} ({(~test).sum()} images), test: persons "
        f"{FIRST_TEST_PERSON}-40 ({test.sum()} images); grey"
    )
    models = (
        (NOSE, NoseRegressor, INPUT_SIZE, max_epochs),
        (IMM58, FaceKeypointRegressor, INPUT_SIZE, max_epochs),
        (IMM58, HeatmapKeypointEstimator, HEATMAP_INPUT_SIZE, max(1, max_epochs // 2)),
    )
    rows, fitted, per_image, baselined = [], {}, {}, set()
    for schema, model, size, epochs in models:
        truth = convert_keypoints(imm.keypoints[test], IMM58, schema)
        name = f"{model.__name__} ({schema.name})"
        candidates = []
        if schema.name not in baselined:
            baselined.add(schema.name)
            train_truth = convert_keypoints(imm.keypoints[~test], IMM58, schema)
            baseline = np.tile(np.nanmean(train_truth, axis=0), (len(truth), 1))
            candidates.append((f"mean-shape baseline ({schema.name})", baseline, 0.0))
        est = model(
            max_epochs=epochs,
            random_state=random_state,
            callbacks=[("progress", EpochProgressBar(name))],
        )
        pipe = make_keypoint_pipeline(Resize(size), est)  # predicts in 640x480 pixels
        t0 = time.perf_counter()
        pipe.fit(imm.images[~test], imm.keypoints[~test])
        candidates.append((name, pipe.predict(imm.images[test]), time.perf_counter() - t0))
        fitted[name] = (pipe, candidates[-1][1], truth)
        for label, p, secs in candidates:
            rows.append(
                {
                    "model": label,
                    "input": "" if not secs else f"{size[1]}x{size[0]}",
                    "mean_px": mean_keypoint_error(truth, p),
                    "nme": nme(truth, p, schema=schema, normalize=interocular),
                    "pck@0.05": pck(truth, p, alpha=0.05, schema=schema, normalize=interocular),
                    "train_s": round(secs, 1),
                }
            )
            if schema is IMM58:
                per_image[label] = per_image_nme(truth, p, schema=IMM58)
    print(
        "\nHeld-out persons 33-40, errors in 640x480 pixels (NME, PCK relative to the "
        "outer-eye-corner distance):"
    )
    print(format_table(rows))

    test_images = imm.images[test]
    regressor = f"FaceKeypointRegressor ({IMM58.name})"
    pipe, pred, truth = fitted[regressor]
    figures = {
        "imm58_best_worst.png": plotting.plot_best_worst(test_images, truth, pred, IMM58),
        "loss_curves.png": plotting.plot_loss_curves(
            {name: p for name, (p, _, _) in fitted.items()}
        ).figure,
        "filters.png": plotting.plot_filters(pipe),
        "ced.png": plotting.plot_ced(per_image, max_error=0.3).figure,
    }
    heatmap_pipe = fitted[f"HeatmapKeypointEstimator ({IMM58.name})"][0]
    face = heatmap_pipe[:-1].transform(test_images[:1])  # the network's input frame
    maps = heatmap_pipe[-1].predict_heatmaps(face)[0]
    figures["heatmaps.png"] = plotting.plot_heatmaps(face[0], maps)
    for filename, fig in figures.items():
        fig.savefig(output / filename, dpi=90, bbox_inches="tight")
        plt.close(fig)
    print(f"\nFigures written to {output}/: {', '.join(figures)}")
    return rows
