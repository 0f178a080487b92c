"""Training and inference speed at 96x96 on real faces, against two references.

For each estimator: images/s of a training epoch through the estimator, through a
hand-written PyTorch loop over the same module, batches, loss and optimizer, and through
skorch's default path (``skorch.dataset.Dataset`` + ``DataLoader``, per-item collation),
all in float32; then the estimator's epoch under bfloat16 autocast (``precision``, where
the CPU has native bfloat16). Inference: faces/s of ``predict`` at batch 256 (PyTorch
eager, float32) and of the same network exported by ``export_onnx`` in onnxruntime
(``sklearn-fkd[onnx]``). Each configuration runs in its own process, so the peak RSS is
that run's. Faces: YouTube Faces frames (Wolf et al. 2011).

    python benchmarks/bench_training_speed.py [--n 1024] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
import torch

from _common import peak_rss_mib, save_results
from sklearn_fkd import FaceKeypointRegressor, HeatmapKeypointEstimator
from sklearn_fkd.datasets import load_youtube_faces
from sklearn_fkd.preprocessing import Grayscale, Resize
from sklearn_fkd.utils import format_table

SIZE = (96, 96)
ESTIMATORS = {
    "cnn": lambda **kw: FaceKeypointRegressor(**kw),
    "resnet18": lambda **kw: FaceKeypointRegressor(backbone="resnet18", **kw),
    "heatmap": lambda **kw: HeatmapKeypointEstimator(**kw),
    "fpn": lambda **kw: HeatmapKeypointEstimator(backbone="fpn", sigma=4.0, **kw),
}


def data(n: int):
    yt = load_youtube_faces("train")
    grey = Grayscale().transform(yt.images[:n])
    return Resize(SIZE).transform(grey), Resize(SIZE).transform_keypoints(grey, yt.keypoints[:n])


def hand_loop_epoch(est, dataset, optimizer) -> float:
    """One epoch of a plain PyTorch loop: same module, batches, loss, optimizer class."""
    module = est.module_
    mean = torch.as_tensor(est.input_mean_).view(1, -1, 1, 1)
    std = torch.as_tensor(est.input_std_).view(1, -1, 1, 1)
    X, y = dataset.X, dataset.y
    module.train()
    t0 = time.perf_counter()
    order = torch.randperm(len(X))
    for start in range(0, len(X) - 1, est.batch_size):
        idx = order[start : start + est.batch_size]
        x = ((X[idx].float() / 255 - mean) / std).contiguous(memory_format=torch.channels_last)
        optimizer.zero_grad()
        loss = est.get_loss(module(x), y[idx])
        loss.backward()
        optimizer.step()
    return time.perf_counter() - t0


def skorch_default_net(est, X, y_norm):
    """skorch's own NeuralNet with its Dataset/DataLoader path on the same module."""
    from skorch import NeuralNet

    class Loss(torch.nn.Module):  # the estimator's loss on (y_pred, y_true)
        def forward(self, y_pred, y_true):
            return est.get_loss(y_pred, y_true)

    mean, std = float(est.input_mean_[0]), float(est.input_std_[0])
    Xf = ((X[:, None].astype(np.float32) / 255) - mean) / std
    net = NeuralNet(
        est.module_,  # the same module instance
        criterion=Loss,
        optimizer=torch.optim.AdamW,
        lr=est.lr,
        max_epochs=1,
        batch_size=est.batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        iterator_train__drop_last=True,
        verbose=0,
    )
    net.initialize()
    return lambda: _timed(lambda: net.partial_fit(Xf, y_norm))


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def one(kind: str, n: int, rounds: int) -> dict:
    """Alternate one epoch of each path for ``rounds`` rounds; report medians.

    The paths run interleaved so that drifts of the machine (run-to-run noise here is
    about 15 %) hit them alike. Augmentation is off in the like-for-like comparison and
    measured separately (``augment_cost``: extra epoch time of the default ``"auto"``).
    """
    torch.manual_seed(0)
    X, y = data(n)
    common = dict(max_epochs=1, random_state=0, lr_schedule=None)
    est = ESTIMATORS[kind](augment=None, precision="float32", **common).fit(X, y)
    augmented = ESTIMATORS[kind](precision="float32", **common).fit(X, y)
    bf16 = ESTIMATORS[kind](augment=None, precision="bfloat16", **common).fit(X, y)
    dataset = est._training_data(X, y, reset=False)
    hand_optimizer = torch.optim.AdamW(est.module_.parameters(), lr=est.lr)
    skorch_epoch = skorch_default_net(est, X, dataset.y.numpy())
    times = {"ours": [], "hand": [], "skorch": [], "augmented": [], "bf16": []}
    for _ in range(rounds):
        times["ours"].append(_timed(lambda: est.partial_fit(X, y)))
        times["hand"].append(hand_loop_epoch(est, dataset, hand_optimizer))
        times["skorch"].append(skorch_epoch())
        times["augmented"].append(_timed(lambda: augmented.partial_fit(X, y)))
        times["bf16"].append(_timed(lambda: bf16.partial_fit(X, y)))
    med = {k: float(np.median(v)) for k, v in times.items()}
    est.set_params(batch_size=256)
    est.predict(X[:256])  # warm-up: builds the fused inference copy once
    infer_s = _timed(lambda: est.predict(X))
    onnx_faces_s = onnx_speed(est, X)
    return {
        "estimator": kind,
        "n_train": n,
        "batch_size": ESTIMATORS[kind]().batch_size,
        "train_img_s": n / med["ours"],
        "hand_loop_img_s": n / med["hand"],
        "skorch_default_img_s": n / med["skorch"],
        "vs_hand_loop": med["hand"] / med["ours"],
        "vs_skorch_default": med["skorch"] / med["ours"],
        "augment_cost": med["augmented"] / med["ours"] - 1,
        "bf16_train_img_s": n / med["bf16"],
        "infer_faces_s": n / infer_s,
        "onnxruntime_faces_s": onnx_faces_s,
        "peak_rss_mib": peak_rss_mib(),
    }


def onnx_speed(est, X) -> float | None:
    """Faces/s of the exported network in onnxruntime (2 threads, batches of 256)."""
    try:
        import onnxruntime
    except ImportError:
        return None
    import tempfile
    from pathlib import Path

    from sklearn_fkd.export import export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(est, Path(tmp) / "m.onnx")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        session = onnxruntime.InferenceSession(str(path), options)
    pixels = X[..., None]
    session.run(None, {"pixels": pixels[:256]})  # warm-up
    t0 = time.perf_counter()
    for start in range(0, len(pixels), 256):
        session.run(None, {"pixels": pixels[start : start + 256]})
    return len(pixels) / (time.perf_counter() - t0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1024, help="training images")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved epochs per path")
    parser.add_argument("--only", choices=list(ESTIMATORS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one(args.only, args.n, args.rounds)))
        return
    rows = []
    for kind in [args.only] if args.only else list(ESTIMATORS):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--only",
                kind,
                "--n",
                str(args.n),
                "--rounds",
                str(args.rounds),
            ],
            capture_output=True,
            text=True,
        )
        if out.returncode:
            raise RuntimeError(f"{kind} run failed:\n{out.stderr}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(format_table([rows[-1]]), flush=True)
    print("\n" + format_table(rows))
    save_results("training_speed", rows, {"input_size": SIZE})


if __name__ == "__main__":
    main()
