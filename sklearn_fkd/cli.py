"""The ``sklearn-fkd`` command line (also ``python -m sklearn_fkd``).

``train`` fits a model on a data set and saves it; ``evaluate`` scores saved models on a
data set (a table, a CED plot, best/worst faces); ``predict`` writes the points of any
images (full photos are face-detected and cropped when the model was trained with its
``FaceCrop``, the default); ``submit`` writes a Kaggle submission; ``demo`` is the
README's main job. Every command exits non-zero with a one-line error on bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

__all__ = ["build_parser", "main"]

MODELS = ("nose", "cnn", "resnet18", "heatmap")


#: the exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it
INTERRUPTED = 130


class CommandError(Exception):
    """Bad input the command line reports in one line."""


class _Parser(argparse.ArgumentParser):
    """argparse with the command line's promise: a bad option is a one-line error and
    exit code 1 (argparse prints its usage and exits 2)."""

    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(1)


def _check_new_file(path: str, force: bool) -> Path:
    """An output file that may be written: not a folder, not an existing file unless
    ``force``, in a folder that exists or can be made. Checked before the work."""
    out = Path(path)
    if out.is_dir():
        raise CommandError(f"--output {out} is a folder; give a file name")
    if out.exists() and not force:
        raise CommandError(f"--output {out} exists; pass --force to replace it")
    for parent in (out.parent, *out.parent.parents):
        if parent.exists():
            if not parent.is_dir():
                raise CommandError(f"--output {out}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK):
                raise CommandError(f"--output {out}: cannot write in {parent}")
            break
    return out


def _check_output_folder(path: str) -> Path:
    """An output folder that may be written into (it may exist already; no file on its
    path). Checked before the work."""
    out = Path(path)
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                where = "" if folder == out else f": {folder} is a file, not a folder"
                raise CommandError(f"--output {out} is a file; give a folder{where}")
            if not os.access(folder, os.W_OK):
                raise CommandError(f"--output {out}: cannot write in {folder}")
            break
    return out


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


def _device(text: str) -> str:
    from .estimators.net import check_device

    try:
        check_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


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
    from . import __version__
    from .datasets import DATASET_SPECS

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
    train.add_argument("--device", type=_device, default="auto", help="cpu, cuda or auto")
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
        help="image files or folders of images (a model file among them is taken as --model)",
    )
    predict.add_argument(
        "--model",
        default=None,
        help="a pretrained model's name or a model file (default: ibug68)",
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
    predict.add_argument(
        "--device", type=_device, default=None, help="run on this device (cpu, cuda)"
    )
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
    commands = {
        "demo": _demo,
        "train": _train,
        "evaluate": _evaluate,
        "predict": _predict,
        "submit": _submit,
    }
    try:
        return commands[args.command](args) or 0
    except (CommandError, FileNotFoundError, ValueError, TypeError) as exc:
        message = " ".join(str(exc).split())  # one line
        print(f"sklearn-fkd {args.command}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sklearn-fkd {args.command}: interrupted; nothing written", file=sys.stderr)
        return INTERRUPTED


# -- commands ---------------------------------------------------------------------------


def _demo(args) -> None:
    from .demo import run_demo

    run_demo(args.output, data_home=args.data_home, max_epochs=args.epochs)


def _load(spec: str, data_home):
    """A data set with keypoints, loaded under a progress bar."""
    from .datasets import load_dataset, loading_progress

    with loading_progress(f"loading {spec}"):
        data = load_dataset(spec, data_home=data_home)
    if data.keypoints is None:
        raise CommandError(f"{spec} has no keypoints")
    return data


def _estimator(args):
    """The estimator and default input size a ``--model`` choice stands for."""
    from .callbacks import EpochProgressBar
    from .estimators import FaceKeypointRegressor, HeatmapKeypointEstimator, NoseRegressor

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


def _train(args) -> int:
    from .persistence import save_model
    from .pipeline import make_keypoint_pipeline
    from .preprocessing import FaceCrop, Grayscale, Resize

    output = _check_new_file(args.output, args.force)  # before any work
    est, default_size = _estimator(args)
    data = _load(args.data, args.data_home)
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


def _load_model(path: str, args, device=None):
    from .persistence import load_model
    from .pretrained import is_pretrained_name, pretrained_path

    if is_pretrained_name(path) and not Path(path).exists():
        path = pretrained_path(path)
    model = load_model(path, device=device, trusted=args.trust_pickle)
    if not hasattr(model, "predict"):
        raise CommandError(f"{path} holds a {type(model).__name__}, which cannot predict")
    return model


def _evaluate(args) -> None:
    import numpy as np

    from .keypoints import convert_keypoints
    from .metrics import (
        ced_auc,
        failure_rate,
        keypoint_rmse,
        mean_keypoint_error,
        nme,
        pck,
        per_image_nme,
    )
    from .utils.tables import format_table

    models = {path: _load_model(path, args) for path in args.models}  # fail before loading data
    data = _load(args.data, args.data_home)
    rows, errors, preds = [], {}, {}
    for path, model in models.items():
        schema = model.schema_ if hasattr(model, "schema_") else data.schema
        truth = data.keypoints
        if schema.name != data.schema.name:
            try:
                truth = convert_keypoints(truth, data.schema, schema)
            except ValueError as exc:
                raise CommandError(
                    f"{path} predicts {schema.name} points; {args.data} has {data.schema.name}"
                ) from exc
        t0 = time.perf_counter()
        pred = model.predict(data.images)
        ms = 1000 * (time.perf_counter() - t0) / len(pred)
        kw = {"schema": schema, "normalize": _normalizer(args.normalize, schema, data)}
        label = Path(path).stem
        rows.append(
            {
                "model": label,
                "images": len(pred),
                "mean_px": mean_keypoint_error(truth, pred),
                "rmse_px": keypoint_rmse(truth, pred),
                "nme": nme(truth, pred, **kw),
                "pck@0.05": pck(truth, pred, alpha=0.05, **kw),
                "auc@0.08": ced_auc(truth, pred, threshold=0.08, **kw),
                "fr@0.10": failure_rate(truth, pred, threshold=0.10, **kw),
                "ms_per_image": ms,
            }
        )
        errors[label] = per_image_nme(truth, pred, **kw)
        preds[label] = (truth, pred, schema, kw["normalize"])
    print(format_table(rows))
    if args.output:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps({"data": args.data, "rows": rows}, indent=2))
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from .plotting import plot_best_worst, plot_ced

        ax = plot_ced(
            errors,
            max_error=max(0.1, float(np.nanpercentile(np.concatenate(list(errors.values())), 95))),
        )
        ax.set_title(f"cumulative error distribution on {args.data}", fontsize=9)
        ax.figure.savefig(out / "ced.png", dpi=100, bbox_inches="tight")
        plt.close(ax.figure)
        written = ["metrics.json", "ced.png"]
        for label, (truth, pred, schema, norm) in preds.items():
            n = min(3, len(pred) // 2)
            if n:
                fig = plot_best_worst(data.images, truth, pred, schema, norm, n=n)
                fig.savefig(out / f"{label}_best_worst.png", dpi=90)
                plt.close(fig)
                written.append(f"{label}_best_worst.png")
        print(f"written to {out}/: {', '.join(written)}")


def _normalizer(normalize: str, schema, data):
    """What NME divides by: the model's own eye pair, else (a nose model) the library's
    one rule for points without a pair (the eye distance of the data's full annotation,
    else each image's diagonal)."""
    from .metrics import fallback_normalizing_distance

    if schema.normalizing_pair is not None or (normalize == "bbox" and schema.n_points > 1):
        return normalize
    return fallback_normalizing_distance(data.keypoints, data.images, data.schema)


def _image_files(items: list[str]) -> list[Path]:
    from .datasets import IMAGE_SUFFIXES

    files = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise CommandError(f"no image files in folder {path}")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"image {path} not found")
    return files


def _is_model_file(item: str) -> bool:
    """Whether a ``predict`` argument is a model file rather than a photo, by what the
    file is: a sklearn-fkd model archive, or a pickle (``.joblib``, ``.pkl``,
    ``.pickle``, refused unless trusted) that no image decoder recognises; a path that
    does not exist, by its suffix."""
    from PIL import Image, UnidentifiedImageError

    from .persistence.archive import is_model_archive

    path = Path(item)
    if not path.exists():  # nothing to look at: a model by its name (then "not found")
        return path.suffix.lower() in (".fkd", ".joblib", ".pkl", ".pickle")
    if not path.is_file():
        return False
    if is_model_archive(path):
        return True
    try:
        with Image.open(path):
            return False  # a photo of any format PIL reads (webp, gif...)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        pass
    return path.suffix.lower() in (".fkd", ".joblib", ".pkl", ".pickle")


def _model_and_photos(args) -> tuple[str, list[str]]:
    """The model (``--model``, a model file among the arguments, else ibug68) and the
    photo arguments."""
    models = [item for item in args.images if _is_model_file(item)]
    photos = [item for item in args.images if item not in models]
    if len(models) > 1 or (models and args.model is not None):
        named = ([args.model] if args.model else []) + models
        raise CommandError(f"more than one model given: {', '.join(map(str, named))}")
    if not photos:
        raise CommandError("no image given")
    return args.model or (models[0] if models else "ibug68"), photos


def _read_photos(files: list[Path]) -> tuple[list[Path], list, list[str]]:
    """The readable photos and their files, and a line per photo that is not readable."""
    from .datasets import loading_progress, read_images

    with loading_progress("loading images"):
        images = read_images(files, errors="return")
    read = [(f, im) for f, im in zip(files, images, strict=True) if not isinstance(im, Exception)]
    skipped = [str(im) for im in images if isinstance(im, Exception)]
    return [f for f, _ in read], [im for _, im in read], skipped


def _distinct_names(files: list[Path]) -> list[str]:
    """A name per file for its outputs: the stem, prefixed by its folders where stems
    repeat (``a/face.jpg``, ``b/face.jpg`` -> ``a_face``, ``b_face``), never the same
    twice."""
    names = [f.stem for f in files]
    depth = 1
    while len(set(names)) < len(names) and depth <= max(len(f.parts) for f in files):
        repeated = {n for n in names if names.count(n) > 1}
        names = [
            "_".join(f.with_suffix("").parts[-depth - 1 :]) if n in repeated else n
            for f, n in zip(files, names, strict=True)
        ]
        depth += 1
    seen: dict[str, int] = {}
    for i, n in enumerate(names):  # the same file given twice
        seen[n] = seen.get(n, 0) + 1
        if seen[n] > 1:
            names[i] = f"{n}_{seen[n]}"
    return names


def _predict_video(args, model_name: str, video: Path) -> int:
    """``predict clip.mp4``: the points of every face of every frame, streamed to a CSV
    file (``--output`` ending in ``.csv``, else ``keypoints.csv`` in that folder)."""
    from .video import write_video_points

    if not video.is_file():
        raise FileNotFoundError(f"video {video} not found")
    if args.format != "csv":
        raise CommandError("a video's points are written as CSV (--format csv)")
    if str(args.output).lower().endswith(".csv"):
        points_file = _check_new_file(args.output, args.force)
    else:
        points_file = _check_output_folder(args.output) / "keypoints.csv"
        if points_file.exists() and not args.force:
            raise CommandError(f"{points_file} exists; pass --force to replace it")
    overlay = None if args.overlay is None else _check_new_file(args.overlay, args.force)
    model = _load_model(model_name, args, device=args.device)
    points_file.parent.mkdir(parents=True, exist_ok=True)
    done = write_video_points(
        model, video, points_file, overlay=overlay, progress=True,
        detect_every=args.detect_every, smooth=not args.no_smooth,
    )  # fmt: skip
    print(
        f"{done['frames']} frames, {done['rows']} face rows in {done['seconds']:.1f} s "
        f"({done['frames'] / max(done['seconds'], 1e-9):.1f} frames/s); written to "
        f"{points_file}" + (f" and {overlay}" if overlay is not None else "")
    )
    return 0


def _predict(args) -> int:
    import numpy as np

    from .photos import predict_faces
    from .video import VIDEO_SUFFIXES

    model_name, photos = _model_and_photos(args)
    if len(photos) == 1 and Path(photos[0]).suffix.lower() in VIDEO_SUFFIXES:
        return _predict_video(args, model_name, Path(photos[0]))
    out = _check_output_folder(args.output)  # before any work
    points_file = out / f"keypoints.{args.format}"
    if points_file.exists() and not args.force:
        raise CommandError(f"{points_file} exists; pass --force to replace it")
    files = _image_files(photos)
    model = _load_model(model_name, args, device=args.device)
    files, images, skipped = _read_photos(files)
    if not images:
        raise CommandError(f"no readable image: {'; '.join(skipped[:3])}")
    steps = getattr(model, "steps", None)
    every_face = bool(steps) and hasattr(steps[0][1], "detector_calibration_")
    if args.min_score is not None and not every_face:
        raise CommandError(
            "--min-score needs a model that finds faces (a pipeline starting with FaceCrop); "
            f"{model_name} predicts on whole images"
        )
    t0 = time.perf_counter()
    results = []  # per image: (points of each face, boxes, scores)
    for image in images:
        faces, boxes, scores = (
            predict_faces(model, image, min_score=args.min_score)
            if every_face
            else ([], None, None)
        )
        if not faces:  # no face found (or a model without a face crop): the whole image
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "no face found": said below, per image
                faces = list(model.predict([image]).reshape(1, -1, 2))
            boxes, scores = np.full((1, 4), np.nan), np.full(1, np.nan)
        results.append((faces, boxes, scores))
    secs = time.perf_counter() - t0
    n_faces = sum(len(r[0]) for r in results)
    wholes = [str(f) for f, r in zip(files, results, strict=True) if np.isnan(r[2]).all()]
    out.mkdir(parents=True, exist_ok=True)
    written = [_write_points(out, args.format, files, results)]
    if not args.no_plots:
        from PIL import Image

        from .drawing import draw_faces

        schema = getattr(model, "schema_", None)
        for name, image, (faces, boxes, _) in zip(
            _distinct_names(files), images, results, strict=True
        ):
            drawn = draw_faces(image, faces, boxes=boxes, schema=schema)
            Image.fromarray(drawn).save(out / f"{name}_keypoints.png")
        written.append(f"{len(files)} *_keypoints.png")
    if every_face and wholes:
        print(f"no face detected in {len(wholes)} image(s), predicted on the whole image: "
              f"{', '.join(wholes[:5])}{' ...' if len(wholes) > 5 else ''}")  # fmt: skip
    print(
        f"{len(files)} images, {n_faces} faces in {secs:.2f} s "
        f"({1000 * secs / len(files):.0f} ms/image); written to {out}/: {', '.join(written)}"
    )
    for line in skipped:
        print(f"sklearn-fkd predict: skipped: {line}", file=sys.stderr)
    return 1 if skipped else 0


def _write_points(out: Path, fmt: str, files: list[Path], results) -> str:
    """``keypoints.csv`` (a row per face) or ``keypoints.json``; returns the file name."""
    import numpy as np

    if fmt == "json":
        records = [
            {
                "image": str(f),
                "faces": [
                    {
                        "face": i,
                        "box": None if np.isnan(box).any() else np.round(box, 2).tolist(),
                        "score": None if np.isnan(score) else round(float(score), 4),
                        "keypoints": np.round(points, 2).tolist(),
                    }
                    for i, (points, box, score) in enumerate(zip(*r, strict=True))
                ],
            }
            for f, r in zip(files, results, strict=True)
        ]
        (out / "keypoints.json").write_text(json.dumps(records, indent=1))
        return "keypoints.json"
    import pandas as pd

    rows = []
    for f, (faces, boxes, scores) in zip(files, results, strict=True):
        for i, (points, box, score) in enumerate(zip(faces, boxes, scores, strict=True)):
            rows.append([str(f), i, score, *box, *np.asarray(points).reshape(-1)])
    k = len(results[0][0][0])
    cols = ["image", "face", "score", "box_x0", "box_y0", "box_x1", "box_y1"]
    cols += [f"{a}{i}" for i in range(k) for a in ("x", "y")]
    pd.DataFrame(rows, columns=cols).to_csv(
        out / "keypoints.csv", index=False, float_format="%.2f"
    )
    return "keypoints.csv"


def _submit(args) -> None:
    from .datasets import load_kaggle_fkd, write_kaggle_submission
    from .keypoints import KAGGLE15

    model = _load_model(args.model, args)
    schema = getattr(model, "schema_", None)
    if schema is not None and schema.name != KAGGLE15.name:
        raise CommandError(f"{args.model} predicts {schema.name} points, not Kaggle's 15")
    test = load_kaggle_fkd(args.test, subset="test")
    pred = model.predict(test.images)
    path = write_kaggle_submission(pred, args.lookup, args.output, image_ids=test.image_ids)
    print(f"{len(pred)} test images predicted; submission written to {path}")
