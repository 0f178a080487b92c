"""Keypoints of every face of a video: faces found by the detector and followed from
frame to frame by their own points, each point smoothed without lag.

:func:`predict_video` takes a video file (decoded by PyAV: ``pip install
"sklearn-fkd[video]"``) or any iterable of frames (numpy arrays: a webcam loop, an
OpenCV reader) and returns a :class:`pandas.DataFrame` with one row per face per frame;
:func:`iter_video` yields the same rows frame by frame, so that a long video streams
(memory does not grow with its length).

Tracking: the detector runs on the first frame, every ``detect_every`` frames, and
whenever a face's track score falls under ``min_track_score`` or its mean point
confidence under ``min_confidence``. In between, each face
is cropped around the points it had in the frame before (the box a photo's refinement
round uses), so the detector, the slowest step, runs on few frames. A detection that
overlaps no face being followed starts a new face (a new ``face`` id); a face that is
followed badly in a frame (low track score or confidence) is looked for by the detector
in that frame, and ends there when it is not found.

Smoothing: the One Euro filter (Casiez, Roussel & Vogel, CHI 2012) on every coordinate,
with a constant-velocity prediction step that removes its lag in steady motion
(:class:`OneEuroFilter`); speeds are measured in face sizes per second, so its
parameters do not depend on the video's resolution. ``min_cutoff`` (Hz) sets how much
a still face is smoothed (lower: steadier, slower to follow a start or a stop),
``beta`` how quickly the smoothing gives way to speed (higher: less lag when the
speed changes, more jitter while moving).
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .detection import calibrate_boxes, detect_faces, make_detector
from .drawing import draw_faces
from .geometry import box_iou, keypoint_boxes
from .photos import face_crop_of
from .pretrained import load_pretrained
from .utils.optional import import_extra
from .utils.validation import check_images

__all__ = [
    "VIDEO_MODEL",
    "VIDEO_SUFFIXES",
    "OneEuroFilter",
    "iter_video",
    "predict_video",
    "read_video",
    "write_video_points",
]

#: the shipped model the command line follows faces in videos with (one pass per face)
VIDEO_MODEL = "ibug68_fast"
#: file suffixes the command line reads as videos
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg")
#: a detection and a followed face are the same face above this box overlap
SAME_FACE_IOU = 0.3


class OneEuroFilter:
    """The One Euro filter (Casiez, Roussel & Vogel, CHI 2012) on a vector of values,
    with a constant-velocity prediction step.

    Each value is smoothed exponentially with a cut-off frequency that rises with its
    speed: still values are smoothed much, moving ones little. With ``predict`` (the
    default), each step first moves the last estimate by the smoothed velocity and then
    corrects it towards the new value (as an alpha-beta filter does), which removes the
    lag the plain filter has in steady motion (``benchmarks/bench_video.py`` measures
    the NME and the jitter of both on a synthetic clip with known points).

    Parameters
    ----------
    min_cutoff : float, default=0.5
        Cut-off frequency (Hz) when the values stand still: lower smooths more.
    beta : float, default=2.0
        How much the cut-off rises with the speed (in units of ``scale`` per second):
        higher follows changes of speed with less lag, and smooths less while moving.
    d_cutoff : float, default=1.0
        Cut-off frequency (Hz) of the speed estimate.
    predict : bool, default=True
        Move the last estimate by the smoothed velocity before correcting it; False is
        the plain One Euro filter.
    """

    def __init__(
        self,
        min_cutoff: float = 0.5,
        beta: float = 2.0,
        d_cutoff: float = 1.0,
        predict: bool = True,
    ):
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.predict = predict
        self._last: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time: float | None = None

    @staticmethod
    def _alpha(cutoff, dt: float):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, values: np.ndarray, time: float, scale: float = 1.0) -> np.ndarray:
        """The filtered ``values`` at ``time`` (seconds; increasing); speeds are measured
        in units of ``scale`` per second (a face's size, for points in pixels). NaN
        values (a point not predicted) pass through and restart that value."""
        values = np.asarray(values, dtype=np.float64)
        if self._last is None or self._time is None or not time > self._time:
            self._last, self._speed, self._time = values.copy(), np.zeros_like(values), time
            return values.copy()
        dt = time - self._time
        speed = np.nan_to_num((values - self._last) / dt)
        a_d = self._alpha(self.d_cutoff, dt)
        self._speed = a_d * speed + (1 - a_d) * self._speed
        a = self._alpha(self.min_cutoff + self.beta * np.abs(self._speed) / scale, dt)
        start = self._last + self._speed * dt if self.predict else self._last
        smoothed = a * values + (1 - a) * start
        smoothed = np.where(np.isnan(self._last), values, smoothed)  # a point reappears
        self._last, self._time = smoothed, time
        return smoothed.copy()


def _av():
    return import_extra("av", "reading or writing a video file")


def video_info(path: str | os.PathLike) -> tuple[int | None, float]:
    """The number of frames a video file declares (None if it does not) and its frame
    rate."""
    av = _av()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return (stream.frames or None), float(stream.average_rate or 30)


def read_video(path: str | os.PathLike) -> Iterator[tuple[np.ndarray, float]]:
    """The frames of a video file as ``(H, W, 3)`` uint8 RGB arrays with their times in
    seconds, decoded one at a time (PyAV; any container FFmpeg reads). Frames are those
    a player shows: a container's edit list is followed (the shared obama.mp4 stores
    158 frames and plays 55)."""
    av = _av()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video {path} not found")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise ValueError(f"cannot read video {path}: {exc}") from None
    with container:
        if not container.streams.video:
            raise ValueError(f"{path} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or 30)
        for index, frame in enumerate(container.decode(stream)):
            time = float(frame.time) if frame.time is not None else index / rate
            yield frame.to_ndarray(format="rgb24"), time


@dataclass
class _Track:
    """One face being followed: its id, last points ``(K, 2)`` and smoother."""

    face: int
    points: np.ndarray
    smoother: OneEuroFilter | None
    confidence: np.ndarray | None = None
    score: float = 1.0
    smoothed: np.ndarray | None = field(default=None)


def _frames(source, fps: float | None) -> Iterator[tuple[np.ndarray, float]]:
    if isinstance(source, (str, os.PathLike)):
        yield from read_video(source)
        return
    if not isinstance(source, Iterable):
        raise TypeError(
            f"source must be a video file or an iterable of frames, got {type(source).__name__}"
        )
    rate = 30.0 if fps is None else float(fps)
    for index, frame in enumerate(source):
        yield frame, index / rate


def _tracking_model(model):
    """A copy of the pipeline that crops once per face (the box from the last frame's
    points is the refinement), and its face crop."""
    crop = face_crop_of(model, "predict_video")
    tracking = copy.copy(model)  # its own parameters, the same steps
    tracking.refine = 0
    return tracking, crop


def iter_video(
    model,
    source,
    *,
    fps: float | None = None,
    detect_every: int = 30,
    min_track_score: float = 0.5,
    min_confidence: float = 0.7,
    max_faces: int | None = None,
    smooth: bool = True,
    min_cutoff: float = 0.5,
    beta: float = 2.0,
) -> Iterator[tuple[np.ndarray, list[dict]]]:
    """Each frame with its rows of :func:`predict_video` (one dict per face), as the
    frames are read: what a live view or a long video needs.

    Parameters
    ----------
    model, source
        As :func:`predict_video`.
    fps : float, optional
        Frames per second of an iterable of frames (default 30); a file's own times are
        used.
    detect_every : int, default=30
        Run the detector every this many frames (and on the first, and whenever a face's
        track score drops under ``min_track_score``); in between, each face is followed
        from its last points.
    min_track_score : float, default=0.5
        A face whose track score (the overlap of the box its new points span with the
        box it was cropped from, 0 to 1) falls under this is looked for again, and ends
        when the detector does not find it.
    min_confidence : float, default=0.7
        For models with a per-point confidence: a face whose mean confidence falls under
        this is looked for again, and ends when the detector does not find it (a face
        that left the frame keeps a good track score on the background, but not its
        confidence: on a blank or noise frame at most 0.5 with both shipped models, on
        faces about 0.95, at least 0.93 on 50 AFW faces).
    max_faces : int, optional
        Follow at most this many faces (the detector's most confident first).
    smooth : bool, default=True
        Smooth every point with the One Euro filter; False gives the raw points.
    min_cutoff : float, default=0.5
        The filter's cut-off frequency (Hz) for a still face: lower is steadier, and
        slower to follow a face that starts or stops moving.
    beta : float, default=2.0
        How fast the cut-off rises with the speed (in face sizes per second): higher
        follows changes of speed with less lag, at the price of more jitter while the
        face moves. See :class:`OneEuroFilter`.

    Yields
    ------
    frame : ndarray of shape (H, W[, 3])
    rows : list of dict
    """
    if not (isinstance(detect_every, int) and detect_every >= 1):
        raise ValueError(f"detect_every must be an integer >= 1, got {detect_every!r}")
    if not 0 <= min_track_score <= 1:
        raise ValueError(f"min_track_score must be in [0, 1], got {min_track_score!r}")
    if not 0 <= min_confidence <= 1:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence!r}")

    def followed_well(track: _Track) -> bool:
        confident = track.confidence is None or track.confidence.mean() >= min_confidence
        return track.score >= min_track_score and confident

    if max_faces is not None and not (isinstance(max_faces, int) and max_faces >= 1):
        raise ValueError(f"max_faces must be None or an integer >= 1, got {max_faces!r}")
    if not (min_cutoff > 0 and beta >= 0):
        raise ValueError(f"min_cutoff must be > 0 and beta >= 0, got {min_cutoff}, {beta}")
    if isinstance(model, str):
        model = load_pretrained(model)
    tracking, crop = _tracking_model(model)
    detector = make_detector(crop.detector_)
    confident = bool(getattr(model.steps[-1][1], "HAS_POINT_CONFIDENCE", False))

    def predicted(pipeline, images, boxes):
        """Points ``(m, K, 2)`` and their confidence ``(m, K)`` (None without one)."""
        out = pipeline.predict(images, boxes=boxes, return_confidence=confident)
        points, conf = out if confident else (out, None)
        conf = [None] * len(images) if conf is None else list(conf)
        return points.reshape(len(images), -1, 2), conf

    tracks: list[_Track] = []
    next_id = 0

    def detect_and_match(image, detector_scores: dict[int, float]) -> None:
        """Run the detector: followed faces it finds keep their ids, others end unless
        still followed well; its other faces join, predicted as photos are."""
        nonlocal tracks, next_id
        boxes, scores = detect_faces(image, detector)
        boxes = calibrate_boxes(boxes, crop.detector_calibration_)
        kept: list[_Track] = []
        taken = np.zeros(len(boxes), dtype=bool)
        for track in tracks:
            box = keypoint_boxes(track.points[None])[0]
            overlaps = [0.0 if taken[j] else box_iou(box, b) for j, b in enumerate(boxes)]
            best = int(np.argmax(overlaps)) if len(boxes) else -1
            if best >= 0 and overlaps[best] >= SAME_FACE_IOU:
                taken[best] = True
                detector_scores[track.face] = float(scores[best])
                kept.append(track)
            elif followed_well(track):
                kept.append(track)  # missed by the detector (turned), still followed
        tracks = kept
        new = [j for j in np.argsort(-scores) if not taken[j]]
        if max_faces is not None:
            new = new[: max(0, max_faces - len(tracks))]
        if new:  # new faces: predicted as photos are (with the refinement)
            points, conf = predicted(model, [image] * len(new), boxes[new])
            for j, face_points, face_conf in zip(new, points, conf, strict=True):
                smoother = OneEuroFilter(min_cutoff, beta) if smooth else None
                tracks.append(_Track(next_id, face_points, smoother, face_conf))
                detector_scores[next_id] = float(scores[j])
                next_id += 1

    for index, (frame, time) in enumerate(_frames(source, fps)):
        (image,) = check_images(np.asarray(frame)[None])
        detector_scores: dict[int, float] = {}
        detect = index % detect_every == 0 or not tracks
        if detect or not all(followed_well(t) for t in tracks):
            detect_and_match(image, detector_scores)
            detect = True
        followed = [t for t in tracks if t.smoothed is not None]  # not new in this frame
        if followed:
            previous = keypoint_boxes(np.stack([t.points for t in followed]))
            points, conf = predicted(tracking, [image] * len(followed), previous)
            for track, box, face_points, face_conf in zip(
                followed, previous, points, conf, strict=True
            ):
                track.points, track.confidence = face_points, face_conf
                track.score = box_iou(box, keypoint_boxes(face_points[None])[0])
            if not detect and not all(followed_well(t) for t in followed):
                detect_and_match(image, detector_scores)  # lost in this frame: look again
        rows = []
        for track in tracks:
            track.smoothed = _smoothed(track, time)
            rows.append(_row(index, time, track, detector_scores.get(track.face)))
        yield frame, rows


def _smoothed(track: _Track, time: float) -> np.ndarray:
    """The track's points through its One Euro filter (speeds in face sizes per second)."""
    if track.smoother is None:
        return track.points
    box = keypoint_boxes(track.points[None])[0]
    size = float(max(box[2] - box[0], box[3] - box[1], 1.0))
    return track.smoother(track.points, time, scale=size)


def _row(index: int, time: float, track: _Track, detector_score: float | None) -> dict:
    row = {
        "frame": index,
        "time": time,
        "face": track.face,
        "detector_score": np.nan if detector_score is None else detector_score,
        "track_score": track.score,
    }
    for k, (x, y) in enumerate(track.smoothed):
        row[f"x{k}"], row[f"y{k}"] = float(x), float(y)
    if track.confidence is not None:
        for k, value in enumerate(track.confidence):
            row[f"c{k}"] = float(value)
    return row


def predict_video(model, source, **options) -> pd.DataFrame:
    """The keypoints of every face in every frame of a video.

    Parameters
    ----------
    model : fitted KeypointPipeline whose first step is a FaceCrop, or a shipped model's name
        ``"ibug68_fast"`` (:data:`VIDEO_MODEL`, one network pass per face: made for
        video) or ``"ibug68"`` (more accurate, several passes per face), or a model of
        your own.
    source : str, path-like or iterable of ndarray
        A video file (PyAV: ``pip install "sklearn-fkd[video]"``), or frames of shape
        ``(H, W)`` or ``(H, W, 3)`` (uint8 RGB), e.g. a generator over a webcam.
    **options
        :func:`iter_video`'s keyword arguments: ``fps``, ``detect_every``,
        ``min_track_score``, ``min_confidence``, ``max_faces``, ``smooth``,
        ``min_cutoff``, ``beta``.

    Returns
    -------
    pandas.DataFrame
        One row per face per frame: ``frame`` (0-based), ``time`` (seconds), ``face``
        (an id that stays with the face), ``detector_score`` (the detector's score on the
        frames where it found the face, else NaN), ``track_score`` (see
        ``min_track_score``), then ``x0, y0, x1, y1, ...`` in the frame's pixels, then
        each point's confidence ``c0, c1, ...`` (0 to 1, higher for surer points) for
        models that give one (heatmap models, the shipped ``ibug68``).

    Examples
    --------
    >>> from sklearn_fkd import predict_video
    >>> points = predict_video("ibug68_fast", "clip.mp4")  # doctest: +SKIP
    """
    rows = [row for _, frame_rows in iter_video(model, source, **options) for row in frame_rows]
    columns = ["frame", "time", "face", "detector_score", "track_score"]
    return pd.DataFrame(rows, columns=columns if not rows else None)


def write_video_points(
    model,
    source,
    output: str | os.PathLike,
    *,
    overlay: str | os.PathLike | None = None,
    progress: bool = False,
    **options,
) -> dict:
    """Stream :func:`predict_video`'s rows of a video to a CSV file, frame by frame (and
    the frames with their points drawn to a video file), never holding the whole clip.

    Parameters
    ----------
    model, source
        As :func:`predict_video`.
    output : str or path-like
        The CSV file to write (its columns are :func:`predict_video`'s).
    overlay : str or path-like, optional
        A video file (``.mp4``) to write the frames to with every face's points drawn
        (:func:`sklearn_fkd.drawing.draw_faces`), at the source's frame rate.
    progress : bool, default=False
        Show a progress bar with the frames per second.
    **options
        :func:`predict_video`'s keyword arguments.

    Returns
    -------
    dict
        ``frames``, ``rows`` and ``seconds`` (of the whole run).
    """
    import csv
    import time

    from tqdm.auto import tqdm

    total, rate = None, options.get("fps") or 30.0
    if isinstance(source, (str, os.PathLike)):
        total, rate = video_info(source)
    encoder = _Encoder(overlay, rate) if overlay is not None else None
    start, n_frames, n_rows = time.perf_counter(), 0, 0
    columns: list[str] | None = None
    with (
        open(output, "w", newline="") as file,
        tqdm(total=total, unit="frame", desc="video", disable=not progress) as bar,
    ):
        writer = csv.writer(file)
        for frame, rows in iter_video(model, source, **options):
            if columns is None and rows:
                columns = list(rows[0])
                writer.writerow(columns)
            for row in rows:
                writer.writerow([f"{row[c]:.3f}" if isinstance(row[c], float) else row[c]
                                 for c in columns])  # fmt: skip
            if encoder is not None:
                faces = [np.array([[r[f"x{k}"], r[f"y{k}"]] for k in range(_n_points(r))])
                         for r in rows]  # fmt: skip
                encoder.write(draw_faces(np.asarray(frame, dtype=np.uint8), faces))
            n_frames, n_rows = n_frames + 1, n_rows + len(rows)
            bar.update(1)
        if columns is None:  # no face in any frame: the header alone
            writer.writerow(["frame", "time", "face", "detector_score", "track_score"])
    if encoder is not None:
        encoder.close()
    return {"frames": n_frames, "rows": n_rows, "seconds": time.perf_counter() - start}


def _n_points(row: dict) -> int:
    return sum(1 for key in row if key.startswith("x") and key[1:].isdigit())


class _Encoder:
    """Frames to an H.264 video file (PyAV), opened at the first frame."""

    def __init__(self, path, rate: float):
        self.path, self.rate = Path(path), rate
        self.container = self.stream = None

    def write(self, image: np.ndarray) -> None:
        av = _av()
        h, w = image.shape[:2]
        if self.container is None:
            self.container = av.open(str(self.path), "w")
            self.stream = self.container.add_stream("libx264", rate=round(self.rate))
            self.stream.width, self.stream.height = w - w % 2, h - h % 2
            self.stream.pix_fmt = "yuv420p"
        even = np.ascontiguousarray(image[: h - h % 2, : w - w % 2])
        frame = av.VideoFrame.from_ndarray(even, format="rgb24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        if self.container is None:
            return
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()
