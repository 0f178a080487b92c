"""``sklearn-fkd train``: fit a model on a data set and save it."""

from __future__ import annotations

import sys
import time

from ..callbacks import EpochProgressBar
from ..estimators import FaceKeypointRegressor, HeatmapKeypointEstimator, NoseRegressor
from ..persistence import save_model
from ..pipeline import make_keypoint_pipeline
from ..preprocessing import FaceCrop, Grayscale, Resize
from . import INTERRUPTED, CommandError
from .common import check_device, check_new_file, load_data


def estimator_for(args):
    """The estimator and default input size a ``--model`` choice stands for."""
    check_device(args.device)
    if args.epochs < 1:
        raise CommandError(f"--epochs must be >= 1, got {args.epochs}")
    common = {"max_epochs": args.epochs, "device": args.device, "random_state": args.seed}
    if args.lr is not None:
        common["lr"] = args.lr
    if args.batch_size is not None:
        common["batch_size"] = args.batch_size
    if args.no_augment:
        common["augment"] = None
    common["callbacks"] = [("progress", EpochProgressBar(f"training {args.model}"))]
    if args.model == "nose":
        return NoseRegressor(**common), (96, 96)
    if args.model == "cnn":
        return FaceKeypointRegressor(**common), (96, 96)
    if args.model == "resnet18":
        return FaceKeypointRegressor(backbone="resnet18", **common), (96, 96)
    return HeatmapKeypointEstimator(**common), (64, 64)


def run(args) -> int:
    """Fit the pipeline, save it with its provenance; 130 when interrupted early."""
    output = check_new_file(args.output, args.force)  # before any work
    est, default_size = estimator_for(args)
    data = load_data(args.data, args.data_home)
    size = args.size or default_size
    steps = [] if args.no_face_crop else [FaceCrop()]
    pipe = make_keypoint_pipeline(*steps, Grayscale(), Resize(size), est)
    print(
        f"training {args.model} on {args.data}: {len(data.keypoints)} faces, "
        f"{data.schema.n_points} points ({data.schema.name}), input {size[1]}x{size[0]} grey"
        f"{'' if args.no_face_crop else ', cropped to the face'}"
    )
    t0 = time.perf_counter()
    pipe.fit(data.images, data.keypoints)  # skorch stops cleanly on Ctrl-C between batches
    fit_s = time.perf_counter() - t0
    completed = len(est.history)
    if completed == 0:
        print("sklearn-fkd train: interrupted before the first epoch ended; nothing written",
              file=sys.stderr)  # fmt: skip
        return INTERRUPTED
    path = save_model(
        pipe,
        output,
        metadata={
            "data": args.data,
            "model": args.model,
            "n_train": len(data.keypoints),
            "schema": pipe.schema_.name,
            "input_size": list(size),
            "epochs": completed,
            "epochs_asked": args.epochs,
            "interrupted": completed < args.epochs,
            "fit_seconds": round(fit_s, 1),
            "final_train_loss": float(est.history[-1, "train_loss"]),
            "arguments": {k: v for k, v in vars(args).items() if k != "command"},
        },
    )
    if completed < args.epochs:
        print(
            f"sklearn-fkd train: interrupted after {completed} of {args.epochs} epochs; "
            f"the model of the completed epochs is written to {path}",
            file=sys.stderr,
        )
        return INTERRUPTED
    print(f"trained in {fit_s:.0f} s; model written to {path}")
    return 0
