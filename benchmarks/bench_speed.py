"""Training and inference speed at 96x96 on real faces, against two references.

For each estimator: images/s of a training epoch through the estimator, through a
hand-written PyTorch loop over the same module, batches, loss and optimizer, and through
skorch's default path (``skorch.dataset.Dataset`` + ``DataLoader``, per-item collation).
Inference: faces/s of ``predict`` at batch 256. Each configuration runs in its own
process, so the peak RSS is that run's. Faces: YouTube Faces frames (Wolf et al. 2011).

    python benchmarks/bench_speed.py [--n 1024] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
import torch

from _common import grey_resized, peak_rss_mib, save_results
from sklearn_fkd import FaceKeypointRegressor, HeatmapKeypointEstimator
from sklearn_fkd._imaging import scale_keypoints
from sklearn_fkd.datasets import load_youtube_faces
from sklearn_fkd.demo import format_table

SIZE = (96, 96)
ESTIMATORS = {
    "cnn": lambda **kw: FaceKeypointRegressor(**kw),
    "resnet18": lambda **kw: FaceKeypointRegressor(backbone="resnet18", **kw),
    "heatmap": lambda **kw: HeatmapKeypointEstimator(**kw),
}


def data(n: int):
    yt = load_youtube_faces("train")
    X, sx, sy = grey_resized(yt.images[:n], SIZE)
    return X, scale_keypoints(yt.keypoints[:n], sx, sy)


def epoch_seconds(history) -> float:
    """Median epoch duration, skipping the first (warm-up) epoch."""
    durations = history[:, "dur"]
    return float(np.median(durations[1:] if len(durations) > 1 else durations))


def hand_loop_seconds(est, dataset, epochs: int) -> float:
    """The same module, batches, loss and optimizer in a plain PyTorch loop."""
    module, criterion = est.module_, est.criterion_
    optimizer = torch.optim.AdamW(module.parameters(), lr=est.lr)
    mean = torch.as_tensor(est.input_mean_).view(1, -1, 1, 1)
    std = torch.as_tensor(est.input_std_).view(1, -1, 1, 1)
    X, y = dataset.X, dataset.y
    module.train()
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        order = torch.randperm(len(X))
        for start in range(0, len(X), est.batch_size):
            idx = order[start : start + est.batch_size]
            if len(idx) < 2:
                continue
            x = (X[idx].float() / 255 - mean) / std
            optimizer.zero_grad()
            out = module(x)
            loss = est.get_loss(out, y[idx]) if criterion is not None else None
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:] if len(times) > 1 else times))


def skorch_default_seconds(est, X, y_norm, epochs: int) -> float:
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
        max_epochs=epochs,
        batch_size=est.batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        iterator_train__drop_last=True,
        verbose=0,
    )
    net.initialize()
    net.partial_fit(Xf, y_norm)
    return epoch_seconds(net.history)


def one(kind: str, n: int, epochs: int) -> dict:
    torch.manual_seed(0)
    X, y = data(n)
    est = ESTIMATORS[kind](max_epochs=epochs, random_state=0, lr_schedule=None)
    est.fit(X, y)
    ours = epoch_seconds(est.history)
    dataset = est._training_data(X, y, reset=False)
    hand = hand_loop_seconds(est, dataset, epochs)
    default = skorch_default_seconds(est, X, dataset.y.numpy(), epochs)
    est.set_params(batch_size=256)
    t0 = time.perf_counter()
    est.predict(X)
    infer_s = time.perf_counter() - t0
    return {
        "estimator": kind,
        "n_train": n,
        "batch_size": ESTIMATORS[kind]().batch_size,
        "train_img_s": n / ours,
        "hand_loop_img_s": n / hand,
        "skorch_default_img_s": n / default,
        "vs_hand_loop": hand / ours,
        "vs_skorch_default": default / ours,
        "infer_faces_s": n / infer_s,
        "peak_rss_mib": peak_rss_mib(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1024, help="training images")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--only", choices=list(ESTIMATORS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one(args.only, args.n, args.epochs)))
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
                "--epochs",
                str(args.epochs),
            ],
            capture_output=True,
            text=True,
        )
        if out.returncode:
            raise RuntimeError(f"{kind} run failed:\n{out.stderr}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(format_table([rows[-1]]), flush=True)
    print("\n" + format_table(rows))
    save_results("speed", rows, {"input_size": SIZE})


if __name__ == "__main__":
    main()
