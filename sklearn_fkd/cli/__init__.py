"""The ``sklearn-fkd`` command line (also ``python -m sklearn_fkd``).

``train`` fits a model on a data set and saves it; ``evaluate`` scores saved models on a
data set (a table, a CED plot, best/worst faces); ``predict`` writes the points of any
images (full photos are face-detected and cropped when the model was trained with its
``FaceCrop``, the default); ``submit`` writes a Kaggle submission; ``demo`` is the
README's main job. Every command exits non-zero with a one-line error on bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .._version import __version__
from ..datasets.named import DATASET_SPECS

__all__ = ["CommandError", "build_parser", "main"]

MODELS = ("nose", "cnn", "resnet18", "heatmap")

#: the exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it
INTERRUPTED = 130

#: the commands, each a module of this package with ``run(args) -> int | None``
COMMANDS = ("demo", "train", "evaluate", "predict", "submit")


class CommandError(Exception):
    """Bad input the command line reports in one line."""


class _Parser(argparse.ArgumentParser):
    """argparse with the command line's promise: a bad option is a one-line error and
    exit code 1 (argparse prints its usage and exits 2)."""

    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(1)


def _add_data_home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-home",
        default=None,
        help="data folder for named data sets (default: $SKLEARN_FKD_DATA, else "
        "~/sklearn_fkd_data)",
    )


def _add_trust_pickle(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="also open pickled model files (unpickling runs any code the file holds: "
        "only for files from a source you trust)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def _size(text: str) -> tuple[int, int]:
    """``96`` -> (96, 96); ``120x160`` -> (120, 160) as (height, width)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be N or HxW, got {text!r}") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) < 16:
        raise argparse.ArgumentTypeError(f"size must be N or HxW with sides >= 16, got {text!r}")
    return parts[0], parts[1]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per job."""
    data_help = f"data set: {', '.join(DATASET_SPECS)}"
    parser = _Parser(
        prog="sklearn-fkd", description="Facial keypoint detection with scikit-learn."
    )
    parser.add_argument("--version", action="version", version=f"sklearn-fkd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train and evaluate on the IMM faces, write figures")
    demo.add_argument("--epochs", type=int, default=60, help="training epochs of each model")
    demo.add_argument("--output", default="demo_output", help="folder for the figures")
    _add_data_home(demo)

    train = sub.add_parser("train", help="fit a model on a data set and save it")
    train.add_argument("--data", required=True, help=data_help)
    train.add_argument("--model", choices=MODELS, default="cnn", help="estimator (default cnn)")
    train.add_argument("--output", required=True, help="model file to write (*.fkd)")
    train.add_argument(
        "--force", action="store_true", help="replace --output if it exists (default: refuse)"
    )
    train.add_argument(
        "--size", type=_size, default=None, help="network input N or HxW (default per model)"
    )
    train.add_argument("--epochs", type=_positive_int, default=30)
    train.add_argument(
        "--lr", type=_positive_float, default=None, help="learning rate (default per model)"
    )
    train.add_argument("--batch-size", type=_positive_int, default=None)
    train.add_argument("--no-augment", action="store_true", help="train without augmentation")
    train.add_argument(
        "--no-face-crop",
        action="store_true",
        help="do not crop to the face (default: crop to the points' box at fit and to the "
        "detected face at predict, so the model works on full photos)",
    )
    train.add_argument("--device", default="auto", help="cpu, cuda or auto")
    train.add_argument("--seed", type=int, default=0)
    _add_data_home(train)

    evaluate = sub.add_parser("evaluate", help="score saved models on a data set")
    evaluate.add_argument("models", nargs="+", help="model file(s) written by train")
    _add_trust_pickle(evaluate)
    evaluate.add_argument("--data", required=True, help=data_help)
    evaluate.add_argument("--output", default=None, help="folder for metrics.json and figures")
    evaluate.add_argument(
        "--normalize",
        default="interocular",
        choices=("interocular", "bbox"),
        help="NME normaliser (default: the schema's eye pair)",
    )
    _add_data_home(evaluate)

    predict = sub.add_parser(
        "predict", help="keypoints of every face in image files, as CSV/JSON and PNGs"
    )
    predict.add_argument(
        "images",
        nargs="+",
        help="image files or folders of images, or one video file",
    )
    predict.add_argument(
        "--model",
        default=None,
        help="a pretrained model's name or a model file (default: ibug68 for photos, "
        "ibug68_fast for a video)",
    )
    _add_trust_pickle(predict)
    predict.add_argument("--output", default="predictions", help="folder to write into")
    predict.add_argument("--format", choices=("csv", "json"), default="csv")
    predict.add_argument(
        "--force", action="store_true", help="replace keypoints.csv/.json in --output if present"
    )
    predict.add_argument("--no-plots", action="store_true", help="skip the annotated PNGs")
    predict.add_argument(
        "--min-score",
        type=float,
        default=None,
        help="keep faces the detector scores at least this; below the detector's own "
        "threshold (HOG: 0) it finds turned faces, and more false ones (e.g. -0.2)",
    )
    predict.add_argument("--device", default=None, help="run on this device (cpu, cuda)")
    predict.add_argument(
        "--overlay",
        default=None,
        help="for a video: also write the frames with the points drawn to this .mp4",
    )
    predict.add_argument(
        "--detect-every",
        type=_positive_int,
        default=30,
        help="for a video: run the face detector every N frames (default 30)",
    )
    predict.add_argument(
        "--no-smooth", action="store_true", help="for a video: the raw points, unsmoothed"
    )

    submit = sub.add_parser("submit", help="Kaggle submission from a model and test.csv")
    submit.add_argument("model", help="a 15-point model file written by train")
    _add_trust_pickle(submit)
    submit.add_argument("--test", required=True, help="Kaggle's test.csv")
    submit.add_argument("--lookup", required=True, help="Kaggle's IdLookupTable.csv")
    submit.add_argument("--output", default="submission.csv")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option (one line, exit 1)
        return int(exc.code or 0)
    try:  # each command's module is imported when it runs
        return importlib.import_module(f".{args.command}", __name__).run(args) or 0
    except (CommandError, FileNotFoundError, ValueError, TypeError) as exc:
        message = " ".join(str(exc).split())  # one line
        print(f"sklearn-fkd {args.command}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sklearn-fkd {args.command}: interrupted; nothing written", file=sys.stderr)
        return INTERRUPTED
