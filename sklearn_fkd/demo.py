"""The README's main job: train and evaluate on the IMM faces, write figures.

Trains a :class:`NoseRegressor` and a :class:`FaceKeypointRegressor` on persons 1-32 of
the IMM face database (Nordstrøm et al. 2004; Stegmann et al. 2003) and evaluates them on
the unseen persons 33-40 in the original 640x480 pixels, beside the mean-shape baseline.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.dummy import DummyRegressor

from ._imaging import resize_image, scale_keypoints
from .callbacks import EpochProgressBar
from .datasets import load_imm_faces
from .estimators import FaceKeypointRegressor, NoseRegressor
from .keypoints import IMM58, NOSE, convert_keypoints
from .metrics import mean_keypoint_error, nme, normalizing_distance, pck, per_image_nme

FIRST_TEST_PERSON = 33
INPUT_SIZE = (160, 120)


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
    scale = INPUT_SIZE[0] / imm.images.shape[2], INPUT_SIZE[1] / imm.images.shape[1]
    X = np.stack([resize_image(im, INPUT_SIZE) for im in imm.images])
    y = scale_keypoints(imm.keypoints, *scale)
    test = imm.groups >= FIRST_TEST_PERSON
    interocular = normalizing_distance(imm.keypoints[test], IMM58)  # normalises the nose too
    print(
        f"train: persons 1-{FIRST_TEST_PERSON - 1} ({(~test).sum()} images), test: persons "
        f"{FIRST_TEST_PERSON}-40 ({test.sum()} images); input {INPUT_SIZE[0]}x{INPUT_SIZE[1]} grey"
    )
    rows, fitted = [], {}
    for schema, model in ((NOSE, NoseRegressor), (IMM58, FaceKeypointRegressor)):
        target = convert_keypoints(y, IMM58, schema)
        truth = convert_keypoints(imm.keypoints[test], IMM58, schema)
        flat = X.reshape(len(X), -1)
        baseline = DummyRegressor().fit(flat[~test], target[~test]).predict(flat[test])
        est = model(
            max_epochs=max_epochs,
            random_state=random_state,
            callbacks=[("progress", EpochProgressBar(f"{schema.name} model"))],
        )
        t0 = time.perf_counter()
        est.fit(X[~test], target[~test])
        fit_s = time.perf_counter() - t0
        pred = est.predict(X[test])
        fitted[schema.name] = (est, scale_keypoints(pred, 1 / scale[0], 1 / scale[1]), truth)
        for name, p, secs in (
            (f"mean-shape baseline ({schema.name})", baseline, 0.0),
            (f"{type(est).__name__} ({schema.name})", pred, fit_s),
        ):
            p640 = scale_keypoints(p, 1 / scale[0], 1 / scale[1])
            rows.append(
                {
                    "model": name,
                    "mean_px": mean_keypoint_error(truth, p640),
                    "nme": nme(truth, p640, schema=schema, normalize=interocular),
                    "pck@0.05": pck(truth, p640, alpha=0.05, schema=schema, normalize=interocular),
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
