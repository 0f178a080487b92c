"""``sklearn-fkd predict``: the points of every face in photos (CSV or JSON, and the
photos with the points drawn) or in a video (CSV, and an overlay video)."""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..datasets import IMAGE_SUFFIXES, loading_progress, read_images
from ..drawing import draw_faces
from ..photos import predict_faces
from ..utils.meta import final_estimator
from ..video import VIDEO_MODEL, VIDEO_SUFFIXES, write_video_points
from . import CommandError
from .common import check_device, check_new_file, check_output_folder, load_model_for

#: fewer photos than this are predicted in PyTorch: onnxruntime's start in a fresh
#: process (import, session: about 0.1 s) costs more than it saves on so few faces
FEW_PHOTOS = 8


def run(args) -> int:
    """Predict the photos (or the one video) given; exit 1 when some were unreadable."""
    photos = args.images
    if args.device is not None:
        check_device(args.device)
    if len(photos) == 1 and Path(photos[0]).suffix.lower() in VIDEO_SUFFIXES:
        return _predict_video(args, args.model or VIDEO_MODEL, Path(photos[0]))
    model_name = args.model or "ibug68"
    out = check_output_folder(args.output)  # before any work
    points_file = out / f"keypoints.{args.format}"
    if points_file.exists() and not args.force:
        raise CommandError(f"{points_file} exists; pass --force to replace it")
    files = _image_files(photos)
    model = load_model_for(model_name, args, device=args.device)
    _, final = final_estimator(model)
    if len(files) < FEW_PHOTOS and "backend" in final.get_params(deep=False):
        final.set_params(backend="torch")  # onnxruntime's start would cost more
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


def _predict_video(args, model_name: str, video: Path) -> int:
    """``predict clip.mp4``: the points of every face of every frame, streamed to a CSV
    file (``--output`` ending in ``.csv``, else ``keypoints.csv`` in that folder)."""
    if not video.is_file():
        raise FileNotFoundError(f"video {video} not found")
    if args.format != "csv":
        raise CommandError("a video's points are written as CSV (--format csv)")
    if str(args.output).lower().endswith(".csv"):
        points_file = check_new_file(args.output, args.force)
    else:
        points_file = check_output_folder(args.output) / "keypoints.csv"
        if points_file.exists() and not args.force:
            raise CommandError(f"{points_file} exists; pass --force to replace it")
    overlay = None if args.overlay is None else check_new_file(args.overlay, args.force)
    model = load_model_for(model_name, args, device=args.device)
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


def _image_files(items: list[str]) -> list[Path]:
    files = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise CommandError(f"no image files in folder {path}")
            files += found
        elif path.suffix.lower() == ".fkd":
            raise CommandError(f"{path} is a model file: give it as --model {path}")
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"image {path} not found")
    return files


def _read_photos(files: list[Path]) -> tuple[list[Path], list, list[str]]:
    """The readable photos and their files, and a line per photo that is not readable."""
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


def _write_points(out: Path, fmt: str, files: list[Path], results) -> str:
    """``keypoints.csv`` (a row per face) or ``keypoints.json``; returns the file name."""
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
