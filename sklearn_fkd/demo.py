"""The README's main job: fit and evaluate on the IMM faces, write figures.

Fits on persons 1-32 and tests on the unseen persons 33-40 of the IMM face database
(Nordstrøm et al. 2004; Stegmann et al. 2003).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import GroupKFold, cross_val_score

from .datasets import load_imm_faces
from .keypoints import IMM58, NOSE, convert_keypoints
from .metrics import get_scorer, mean_keypoint_error, nme, normalizing_distance, pck

FIRST_TEST_PERSON = 33


def format_table(rows: list[dict]) -> str:
    """Rows of metrics (dicts with the same keys) as an aligned text table."""

    def fmt(v) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    cols = list(rows[0])
    width = {c: max(len(c), *(len(fmt(r[c])) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(width[c]) for c in cols)]
    lines += ["  ".join(fmt(r[c]).ljust(width[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def run_demo(output: str | Path = "demo_output", data_home=None) -> list[dict]:
    """Fit, evaluate and plot on IMM; print and return the table rows."""
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
    X = imm.images.reshape(len(imm.images), -1)
    y = imm.keypoints
    interocular = normalizing_distance(y[test], IMM58)  # also normalises the nose error
    rows, predictions = [], {}
    for schema, target in ((NOSE, convert_keypoints(y, IMM58, NOSE)), (IMM58, y)):
        pred = DummyRegressor(strategy="mean").fit(X[~test], target[~test]).predict(X[test])
        predictions[schema.name] = pred
        rows.append(
            {
                "model": f"mean-shape baseline, {schema.name}",
                "mean_px": mean_keypoint_error(target[test], pred),
                "nme": nme(target[test], pred, schema=schema, normalize=interocular),
                "pck@0.05": pck(
                    target[test], pred, alpha=0.05, schema=schema, normalize=interocular
                ),
            }
        )
    print("\nHeld-out persons 33-40 (NME and PCK relative to the outer-eye-corner distance):")
    print(format_table(rows))
    cv = cross_val_score(
        DummyRegressor(), X, y, groups=imm.groups, cv=GroupKFold(5), scoring=get_scorer("neg_nme")
    )
    print(f"\nPerson-grouped 5-fold CV of the baseline, NME: {-cv.mean():.4f} +/- {cv.std():.4f}")

    test_idx = np.flatnonzero(test)
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
    for ax, j in zip(axes, range(0, len(test_idx), 12), strict=False):
        i = test_idx[j]
        plot_keypoints(
            imm.images[i],
            y[i],
            predictions[IMM58.name][j],
            ax=ax,
            title=Path(imm.filenames[i]).name,
        )
    axes[0].legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    fig.savefig(output / "baseline_predictions.png", dpi=100)
    plt.close(fig)
    print(f"\nFigures written to {output}/")
    return rows
