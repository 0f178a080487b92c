"""Peers on our 68-point test images: dlib's shape predictor and MediaPipe's face mesh.

Both are optional and need packages that conflict with the library's environment
(MediaPipe 0.10.21 pins numpy < 2), so they live in their own virtualenv:

    make peers-venv                                   # .venv-peers (once, ~3 min)
    .venv-peers/bin/python benchmarks/bench_peers.py  # ~1 min on 2 cores

Test sets: the 770 YouTube Faces test frames (Wolf et al. 2011) and the 337 AFW faces of
300-W (Sagonas et al.; Zhu & Ramanan 2012), the same images as ``bench_68.py`` and
``bench_kaggle.py``. Metrics as in ``bench_68.py`` (NME by the outer eye corners).

* **dlib** (``dlib-bin`` with ``face-recognition-models``' 68-point model): the shape
  predictor needs dlib's own HOG face box. When HOG finds no face, the box is the
  ground-truth points' bounding box, an advantage dlib would not have in use; the
  detection rate says how often that happened.
* **MediaPipe face mesh** (``mediapipe==0.10.21``, 468 points): mapped to the 68 iBUG
  points by choosing, for each iBUG point, the mesh vertex that lies closest to it on
  the 870 HELEN training faces (median NME). The mapping is learned on HELEN and
  evaluated on the other sets, and is written to the results. No mesh vertex is meant to
  be an iBUG point (the jaw line above all), so part of MediaPipe's error is the
  mapping's. When the mesh finds no face in the image, it is run again on a crop
  around the points' box (margin 25 %); images it misses both times are counted as
  failures and excluded from the NME.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from _common import OUTPUT, RESULTS, peak_rss_mib, plot_best_worst, save_results
from sklearn_fkd import IBUG68
from sklearn_fkd.datasets import load_helen_afw, load_youtube_faces
from sklearn_fkd.geometry import keypoint_boxes
from sklearn_fkd.keypoints import to_points
from sklearn_fkd.metrics import (
    ced_auc,
    failure_rate,
    mean_keypoint_error,
    nme,
    normalizing_distance,
    pck,
)
from sklearn_fkd.utils import format_table

#: each face's points of each peer, keyed ``"dlib/AFW"``, ``"mediapipe/YouTube test"``...
PEER_PREDICTIONS = OUTPUT / "peer_predictions.npz"


def rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]


# -- dlib ----------------------------------------------------------------------------


def dlib_predict(images, truth) -> tuple[np.ndarray, float, float]:
    """68 points per image, HOG detection rate, seconds per image."""
    import dlib
    import face_recognition_models

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    boxes = keypoint_boxes(truth)
    out = np.full((len(images), 136), np.nan)
    hits = 0
    started = time.perf_counter()
    for i, image in enumerate(images):
        img = np.ascontiguousarray(rgb(image))
        found = detector(img, 1)
        if len(found):  # the detection that overlaps the annotated face most
            hits += 1
            x0, y0, x1, y1 = boxes[i]
            rect = max(
                found,
                key=lambda r: _overlap(
                    (r.left(), r.top(), r.right(), r.bottom()), (x0, y0, x1, y1)
                ),
            )
        else:
            rect = dlib.rectangle(*np.round(boxes[i]).astype(int).tolist())
        shape = predictor(img, rect)
        out[i] = [v for k in range(68) for v in (shape.part(k).x, shape.part(k).y)]
    return out, hits / len(images), (time.perf_counter() - started) / len(images)


def _overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


# -- MediaPipe -----------------------------------------------------------------------


def mediapipe_mesh(images, truth) -> tuple[np.ndarray, float, float]:
    """468 mesh points per image (NaN where no face), detection rate, seconds per image."""
    import mediapipe as mp

    boxes = keypoint_boxes(truth)
    out = np.full((len(images), 468, 2), np.nan)
    found = 0
    started = time.perf_counter()
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        for i, image in enumerate(images):
            img = np.ascontiguousarray(rgb(image))
            h, w = img.shape[:2]
            result = mesh.process(img)
            x_off = y_off = 0
            if not result.multi_face_landmarks:  # again on a crop around the face
                x0, y0, x1, y1 = boxes[i]
                m = 0.25 * max(x1 - x0, y1 - y0)
                x_off, y_off = int(max(0, x0 - m)), int(max(0, y0 - m))
                crop = np.ascontiguousarray(
                    img[y_off : int(min(h, y1 + m)) + 1, x_off : int(min(w, x1 + m)) + 1]
                )
                h, w = crop.shape[:2]
                result = mesh.process(crop)
            if result.multi_face_landmarks:
                found += 1
                lm = result.multi_face_landmarks[0].landmark
                # normalised [0, 1] over the image edges -> 0-based pixel centres
                out[i, :, 0] = [p.x * w - 0.5 + x_off for p in lm[:468]]
                out[i, :, 1] = [p.y * h - 0.5 + y_off for p in lm[:468]]
    return out, found / len(images), (time.perf_counter() - started) / len(images)


def learn_mapping(mesh: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """For each iBUG point, the mesh vertex with the smallest median normalised distance."""
    pts = to_points(truth)  # (n, 68, 2)
    ok = ~np.isnan(mesh).any(axis=(1, 2))
    d = normalizing_distance(truth[ok], IBUG68)[:, None, None]
    # (n, 68, 468) distances, normalised per image
    dist = np.linalg.norm(pts[ok][:, :, None, :] - mesh[ok][:, None, :, :], axis=-1) / d
    return np.argmin(np.median(dist, axis=0), axis=1)


# -- evaluation ----------------------------------------------------------------------


def row(peer, test_set, truth, pred, detected, seconds) -> dict:
    ok = ~np.isnan(pred).any(axis=1)
    t, p = truth[ok], pred[ok]
    return {
        "peer": peer,
        "test_set": test_set,
        "images": len(truth),
        "detected": detected,
        "nme": nme(t, p, schema=IBUG68),
        "pck@0.05": pck(t, p, alpha=0.05, schema=IBUG68),
        "auc@0.08": ced_auc(t, p, threshold=0.08, schema=IBUG68),
        "fr@0.10": failure_rate(t, p, threshold=0.10, schema=IBUG68),
        "mean_px": mean_keypoint_error(t, p),
        "ms_per_image": 1000 * seconds,
    }


def figure(slug: str, test_set: str, data, pred) -> None:
    """Best and worst faces of a peer on one test set (images it gave points for)."""
    ok = np.flatnonzero(~np.isnan(pred).any(axis=1))
    images = [data.images[i] for i in ok]
    path = RESULTS / f"peers_{slug}_{test_set.split()[0].lower()}.png"
    plot_best_worst(images, data.keypoints[ok], pred[ok], IBUG68, "interocular", None, path)


def main():
    tests = {
        "YouTube test": load_youtube_faces("test"),
        "AFW": load_helen_afw("afw"),
    }
    helen = load_helen_afw("helen")
    rows, predictions = [], {}
    try:
        import dlib  # noqa: F401
        import face_recognition_models  # noqa: F401
    except ImportError as exc:
        print(f"dlib skipped: {exc} (make peers-venv)", file=sys.stderr)
    else:
        for name, data in tests.items():
            pred, rate, sec = dlib_predict(data.images, data.keypoints)
            rows.append(row("dlib 68-point predictor", name, data.keypoints, pred, rate, sec))
            predictions[f"dlib/{name}"] = pred
            figure("dlib", name, data, pred)
            print(format_table([rows[-1]]), flush=True)
    mapping = None
    try:
        import mediapipe  # noqa: F401
    except ImportError as exc:
        print(f"MediaPipe skipped: {exc} (make peers-venv)", file=sys.stderr)
    else:
        mesh, _, _ = mediapipe_mesh(helen.images, helen.keypoints)
        mapping = learn_mapping(mesh, helen.keypoints)
        for name, data in tests.items():
            mesh, rate, sec = mediapipe_mesh(data.images, data.keypoints)
            pred = mesh[:, mapping].reshape(len(mesh), -1)
            peer = "MediaPipe face mesh, mapped to 68"
            rows.append(row(peer, name, data.keypoints, pred, rate, sec))
            predictions[f"mediapipe/{name}"] = pred
            figure("mediapipe", name, data, pred)
            print(format_table([rows[-1]]), flush=True)
    if not rows:
        sys.exit("no peer available: run `make peers-venv` and use .venv-peers/bin/python")
    # each face's points, for benchmarks that break the figures down (bench_large_pose.py)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(PEER_PREDICTIONS, **predictions)
    save_results(
        "peers",
        rows,
        {
            "mediapipe_to_ibug68": None if mapping is None else mapping.tolist(),
            "peak_rss_mib": peak_rss_mib(),
        },
    )


if __name__ == "__main__":
    main()
