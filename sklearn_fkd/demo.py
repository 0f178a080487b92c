"""The README's main job: train and evaluate on the IMM faces, write figures.

Trains a :class:`NoseRegressor` and a :class:`FaceKeypointRegressor` on persons 1-32 of
the IMM face database (Nordstrøm et al. 2004; Stegmann et al. 2003) and evaluates them on
the unseen persons 33-40 in the original 640x480 pixels, beside the mean-shape baseline.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .callbacks import EpochProgressBar
from .datasets import load_imm_faces
from .estimators import FaceKeypointRegressor, NoseRegressor
from .keypoints import IMM58, NOSE, convert_keypoints
from .metrics import mean_keypoint_error, nme, normalizing_distance, pck, per_image_nme
from .pipeline import make_keypoint_pipeline
from .preprocessing import Resize

FIRST_TEST_PERSON = 33
INPUT_SIZE = (120, 160)  # (height, width): a quarter of 640x480


def format_table(rows: list[dict]) -> str:
    """Rows of metrics (dicts with the same keys) as an aligned text table."""

    def fmt(v) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    cols = list(rows[0])
    width = {c: max(len(c), *(len(fmt(r[c])) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(width[c]) for c in cols)]
    lines += ["  ".join(fmt(r[c]).ljust(width[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def run_demo(
    output: str | Path = "demo_output", data_home=None, max_epochs: int = 60, random_state=0
) -> list[dict]:
    """Train, evaluate and plot on IMM; print and return the table rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import plot_keypoints

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
    interocular = normalizing_distance(imm.keypoints[test], IMM58)  # normalises the nose too
    print(
        f"train: persons 1-{FIRST_TEST_PERSON - 1} ({(~test).sum()} images), test: persons "
        f"{FIRST_TEST_PERSON}-40 ({test.sum()} images); input {INPUT_SIZE[1]}x{INPUT_SIZE[0]} grey"
    )
    rows, fitted = [], {}
    for schema, model in ((NOSE, NoseRegressor), (IMM58, FaceKeypointRegressor)):
        truth = convert_keypoints(imm.keypoints[test], IMM58, schema)
        train_truth = convert_keypoints(imm.keypoints[~test], IMM58, schema)
        baseline = np.tile(np.nanmean(train_truth, axis=0), (len(truth), 1))  # the mean shape
        est = model(
            max_epochs=max_epochs,
            random_state=random_state,
            callbacks=[("progress", EpochProgressBar(f"{schema.name} model"))],
        )
        pipe = make_keypoint_pipeline(Resize(INPUT_SIZE), est)  # predicts in 640x480 pixels
        t0 = time.perf_counter()
        pipe.fit(imm.images[~test], imm.keypoints[~test])
        fit_s = time.perf_counter() - t0
        pred = pipe.predict(imm.images[test])
        fitted[schema.name] = (est, pred, truth)
        for name, p, secs in (
            (f"mean-shape baseline ({schema.name})", baseline, 0.0),
            (f"{type(est).__name__} ({schema.name})", pred, fit_s),
        ):
            rows.append(
                {
                    "model": name,
                    "mean_px": mean_keypoint_error(truth, p),
                    "nme": nme(truth, p, schema=schema, normalize=interocular),
                    "pck@0.05": pck(truth, p, alpha=0.05, schema=schema, normalize=interocular),
                    "train_s": round(secs, 1),
                }
            )
    print(
        "\nHeld-out persons 33-40, errors in 640x480 pixels (NME, PCK relative to the "
        "outer-eye-corner distance):"
    )
    print(format_table(rows))

    est, pred, truth = fitted[IMM58.name]
    err = per_image_nme(truth, pred, schema=IMM58)
    order = np.argsort(err)
    test_images = imm.images[test]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
    for ax, i, tag in zip(
        axes, [*order[:2], *order[-2:]], ["best", "best", "worst", "worst"], strict=True
    ):
        plot_keypoints(test_images[i], truth[i], pred[i], ax=ax, title=f"{tag}: NME {err[i]:.3f}")
    axes[0].legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    fig.savefig(output / "imm58_best_worst.png", dpi=90)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, (model, _, _) in fitted.items():
        ax.plot(np.arange(1, len(model.history) + 1), model.history[:, "train_loss"], label=name)
    ax.set(xlabel="epoch", ylabel="training loss (normalised coordinates)", yscale="log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(output / "loss_curves.png", dpi=90)
    plt.close(fig)
    print(f"\nFigures written to {output}/: imm58_best_worst.png, loss_curves.png")
    return rows
