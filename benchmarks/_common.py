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
from sklearn_fkd.estimators.device import BFLOAT16_CPU_FLAGS

RESULTS = Path(__file__).resolve().parent / "results"
#: files a benchmark makes for another to read (models, predictions): not committed
OUTPUT = RESULTS.parent / "output"

# This project's data sets sit in ../shared/data beside the checkout; the library itself
# only reads SKLEARN_FKD_DATA, so the benchmarks point it there unless it is set.
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "SKLEARN_FKD_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["SKLEARN_FKD_DATA"] = str(_SHARED)


def cpu_model() -> str:
    """The CPU's model name and its native bfloat16 units (timings depend on both)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    names = [line.split(":", 1)[1].strip() for line in info.splitlines() if "model name" in line]
    units = [flag for flag in BFLOAT16_CPU_FLAGS if f" {flag}" in info]
    return f"{names[0] if names else 'unknown'} ({', '.join(units) or 'no bfloat16 units'})"


def machine() -> dict:
    """Where and with what a benchmark ran."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "sklearn_fkd": sklearn_fkd.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": cpu_model(),
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


def saved_results(name: str) -> dict:
    """``benchmarks/results/<name>.json`` (rows and run metadata), or ``{}``."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def saved_rows(name: str) -> list[dict]:
    """The rows of ``benchmarks/results/<name>.json``, or none if it is not there."""
    return saved_results(name).get("rows", [])


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def plot_best_worst(images, truth, pred, schema, normalize, estimator, path) -> None:
    """Save the three best and three worst test predictions (by per-image NME), beside
    the estimator's loss curves when there is one (a peer has none)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklearn_fkd import plotting

    fig = plt.figure(figsize=(11 if estimator is not None else 8, 5.2), layout="constrained")
    faces = fig
    if estimator is not None:
        faces, curves = fig.subfigures(1, 2, width_ratios=[3, 1.4])
        plotting.plot_loss_curves({"": estimator}, ax=curves.subplots())
    plotting.plot_best_worst(images, truth, pred, schema=schema, normalize=normalize, fig=faces)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def other_checkout_env(checkout: str | None) -> dict | None:
    """The environment that runs another checkout's ``sklearn_fkd`` (first on
    ``PYTHONPATH``), for a before/after comparison in one run; None without one."""
    if not checkout:
        return None
    return {**os.environ, "PYTHONPATH": str(Path(checkout).resolve())}


def commit_of(checkout: str) -> str:
    """The short commit id a checkout is at."""
    import subprocess

    return subprocess.run(
        ["git", "-C", checkout, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
