"""The ``sklearn-fkd`` command line (also ``python -m sklearn_fkd``)."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per job."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="sklearn-fkd", description="Facial keypoint detection with scikit-learn."
    )
    parser.add_argument("--version", action="version", version=f"sklearn-fkd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train and evaluate on the IMM faces, write figures")
    demo.add_argument("--epochs", type=int, default=60, help="training epochs of each model")
    demo.add_argument("--output", default="demo_output", help="folder for the figures")
    demo.add_argument(
        "--data-home",
        default=None,
        help="data folder (default: $SKLEARN_FKD_DATA or ../shared/data)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            from .demo import run_demo

            run_demo(args.output, data_home=args.data_home, max_epochs=args.epochs)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        print(f"sklearn-fkd {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0
