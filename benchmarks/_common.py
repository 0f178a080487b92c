"""Shared by the benchmark scripts: run metadata, result files, tables."""

from __future__ import annotations

import datetime
import json
import os
import platform
import resource
import sys
from pathlib import Path

import numpy as np
import torch

import sklearn_fkd

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """Where and with what a benchmark ran."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "sklearn_fkd": sklearn_fkd.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "platform": platform.platform(),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def save_results(name: str, rows: list[dict], extra: dict | None = None) -> Path:
    """Write ``benchmarks/results/<name>.json`` with the rows and the run metadata."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "machine": machine(), "rows": rows, **(extra or {})}
    path.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")
    print(f"\nwrote {path.relative_to(RESULTS.parent.parent)}")
    return path


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def plot_best_worst(images, truth, pred, schema, normalize, history, path) -> None:
    """Save the two best and two worst test predictions (by per-image NME) beside the
    training loss curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklearn_fkd.metrics import per_image_nme
    from sklearn_fkd.plotting import plot_keypoints

    err = per_image_nme(truth, pred, schema=schema, normalize=normalize)
    order = np.argsort(err)
    fig, axes = plt.subplots(1, 5, figsize=(17, 3.4))
    for ax, i, tag in zip(
        axes, [*order[:2], *order[-2:]], ["best", "best", "worst", "worst"], strict=False
    ):
        plot_keypoints(
            images[i], truth[i], pred[i], schema=schema, ax=ax, title=f"{tag}: NME {err[i]:.3f}"
        )
    axes[-1].plot(history[:, "train_loss"], label="train loss")
    axes[-1].set_yscale("log")
    axes[-1].set_xlabel("epoch")
    axes[-1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
