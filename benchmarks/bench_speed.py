"""Landmarks at video speed (issue #44): time per face and per photo of the shipped models
and of dlib and MediaPipe, on the same images, in one run, with each one's AFW NME.

For each contender, in a fresh process per round (rounds interleaved, medians):

* ``one_per_call_ms``: one face per call from its true box, ``--faces`` AFW faces
  (``predict(image, boxes=box)``; dlib: ``shape_predictor(image, rect)``; MediaPipe's face
  mesh on the AFW crop, which runs its own detector);
* ``batched_ms``: all AFW faces in one call, per face (dlib and MediaPipe have no batch:
  their loop);
* ``photo_ms``: a whole 640x480 photo with one face, found by the model's own detector
  (``predict(photo)``; dlib: its HOG detector at the photo's size, as our ``hog``
  detector searches it, then the shape predictor; MediaPipe: the mesh on the photo);
* ``nme_afw``: NME (outer eye corners) on the 337 AFW faces: ours from the true boxes;
  dlib from its HOG box (the true box where HOG misses, as in ``bench_peers.py``);
  MediaPipe's 468 vertices mapped to the 68 points by ``bench_peers.py``'s mapping
  (``results/peers.json``), faces it misses left out; ``afw_in_training`` says where
  that is a training-set figure (``ibug68``, and dlib, whose model was trained on 300-W,
  AFW included);
* ``x_dlib``: each time divided by dlib's in the same run.

Our models run with PyTorch and with onnxruntime (the ``backend`` parameter). dlib and
MediaPipe run in the peers' virtualenv (``make peers-venv``); without it their rows are
missing and the script says so. Faces: AFW (Zhu & Ramanan 2012; 300-W annotations,
Sagonas et al.); photos: the IMM face database's 640x480 photos (Nordstrøm et al. 2004).
Writes ``results/speed.json`` and ``results/speed_accuracy.png`` (ms per face against NME).

    python benchmarks/bench_speed.py [--faces 60] [--photos 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from _common import RESULTS, save_results, saved_results
from sklearn_fkd.utils import format_table

HERE = Path(__file__).resolve().parent
PEERS_PYTHON = HERE.parent / ".venv-peers" / "bin" / "python"

#: what a probe loads: the faces, their boxes, the photos
SETUP = """
import json, sys, time, warnings
import numpy as np
sys.path.insert(0, {here!r})
import _common  # noqa: F401 (the data home)
from sklearn_fkd.datasets import load_helen_afw, load_imm_faces
from sklearn_fkd.geometry import keypoint_boxes
from sklearn_fkd.metrics import nme
warnings.simplefilter("ignore")
n_faces, n_photos = {faces}, {photos}
afw = load_helen_afw("afw")
faces = [np.asarray(im) for im in afw.images]
boxes = keypoint_boxes(afw.keypoints)
photos = [np.asarray(im) for im in load_imm_faces().images[:n_photos]]

def per_item_ms(run, items):
    t0 = time.perf_counter()
    out = [run(item) for item in items]
    return out, 1000 * (time.perf_counter() - t0) / len(items)
"""

OURS = """
from sklearn_fkd import load_pretrained
model = load_pretrained({name!r})
model[-1].set_params(backend={backend!r})
model.predict(faces[:1], boxes=boxes[:1])  # the first call's one-off costs
model.predict(photos[:1])
_, one = per_item_ms(lambda i: model.predict(faces[i:i + 1], boxes=boxes[i:i + 1]),
                     range(n_faces))
t0 = time.perf_counter()
pred = model.predict(faces, boxes=boxes)
batched = 1000 * (time.perf_counter() - t0) / len(faces)
_, photo = per_item_ms(lambda p: model.predict([p]), photos)
print(json.dumps({{"one_per_call_ms": one, "batched_ms": batched, "photo_ms": photo,
                  "nme_afw": float(nme(afw.keypoints, pred))}}))
"""

DLIB = """
import dlib, face_recognition_models
from bench_peers import dlib_predict, rgb
detector = dlib.get_frontal_face_detector()
predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
rgb_faces = [np.ascontiguousarray(rgb(f)) for f in faces]
rects = [dlib.rectangle(*np.round(b).astype(int).tolist()) for b in boxes]
predictor(rgb_faces[0], rects[0])
_, one = per_item_ms(lambda i: predictor(rgb_faces[i], rects[i]), range(n_faces))
_, batched = per_item_ms(lambda i: predictor(rgb_faces[i], rects[i]), range(len(faces)))
rgb_photos = [np.ascontiguousarray(rgb(p)) for p in photos]
_, photo = per_item_ms(lambda p: [predictor(p, r) for r in detector(p, 0)], rgb_photos)
pred, _, _ = dlib_predict(faces, afw.keypoints)  # bench_peers.py's protocol
print(json.dumps({{"one_per_call_ms": one, "batched_ms": batched, "photo_ms": photo,
                  "nme_afw": float(nme(afw.keypoints, pred))}}))
"""

MEDIAPIPE = """
import mediapipe as mp
from bench_peers import mediapipe_mesh, rgb
rgb_faces = [np.ascontiguousarray(rgb(f)) for f in faces]
rgb_photos = [np.ascontiguousarray(rgb(p)) for p in photos]
with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
    mesh.process(rgb_faces[0])
    _, one = per_item_ms(mesh.process, rgb_faces[:n_faces])
    _, batched = per_item_ms(mesh.process, rgb_faces)
    _, photo = per_item_ms(mesh.process, rgb_photos)
# bench_peers.py's protocol: the mesh mapped to the 68 points, faces it misses left out
vertices, _, _ = mediapipe_mesh(faces, afw.keypoints)
pred = vertices[:, {mapping!r}].reshape(len(vertices), -1)
ok = ~np.isnan(pred).any(axis=1)
print(json.dumps({{"one_per_call_ms": one, "batched_ms": batched, "photo_ms": photo,
                  "nme_afw": float(nme(afw.keypoints[ok], pred[ok])),
                  "found": float(ok.mean())}}))
"""

MODELS = ("ibug68_fast", "ibug68")
BACKENDS = ("onnxruntime", "torch")
#: whether AFW was in each one's training data (its NME there is then a training-set
#: figure): ibug68 was trained on all shared faces, ibug68_fast on the benchmark split,
#: dlib's model on 300-W's training set, which holds AFW; MediaPipe does not say
AFW_IN_TRAINING = {"ibug68_fast": False, "ibug68": True, "dlib": True, "MediaPipe": None}


def probe(python: str, code: str) -> dict | None:
    """Run ``code`` in a fresh ``python``; its last printed line (JSON), or None."""
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=HERE)
    if done.returncode != 0:
        print(done.stderr.strip().splitlines()[-1], file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def contenders(args, mapping) -> dict[str, tuple[str, str]]:
    """Each row's name -> (python, probe code)."""
    setup = SETUP.format(here=str(HERE), faces=args.faces, photos=args.photos)
    rows = {
        f"{name} ({backend})": (sys.executable, setup + OURS.format(name=name, backend=backend))
        for name in MODELS
        for backend in BACKENDS
    }
    if PEERS_PYTHON.exists():
        rows["dlib shape predictor"] = (str(PEERS_PYTHON), setup + DLIB.format())
        if mapping is not None:
            rows["MediaPipe face mesh"] = (
                str(PEERS_PYTHON),
                setup + MEDIAPIPE.format(mapping=mapping),
            )
    else:
        print(f"dlib and MediaPipe skipped: no {PEERS_PYTHON} (make peers-venv)", file=sys.stderr)
    return rows


def picture(rows: list[dict], path: Path) -> None:
    """Milliseconds per face (one per call and batched, log scale) against AFW NME; a
    hollow marker where AFW was in the training data (a training-set figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.4))
    for i, row in enumerate(rows):
        colour = f"C{i}"
        seen = row["afw_in_training"] is not False
        face = "none" if seen else colour
        x, y = row["one_per_call_ms"], row["nme_afw"]
        ax.plot([row["batched_ms"], x], [y, y], color=colour, lw=1, alpha=0.6)
        ax.scatter([x], [y], s=36, marker="o", facecolors=face, edgecolors=colour)
        ax.scatter([row["batched_ms"]], [y], s=36, marker="s", facecolors=face,
                   edgecolors=colour)  # fmt: skip
        ax.annotate(row["model"], (x, y), fontsize=7, xytext=(5, 4 + 9 * (i % 2)),
                    textcoords="offset points", color=colour)  # fmt: skip
    ax.set_xscale("log")
    ax.margins(x=0.15, y=0.15)
    ax.set_xlabel(
        "ms per face (2 CPU cores; log scale): circle one face per call, square batched\n"
        "hollow: AFW was in the training data"
    )
    ax.set_ylabel("NME on AFW (lower is better)")
    ax.set_title("Speed and accuracy, measured in one run")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=60, help="faces timed one per call")
    parser.add_argument("--photos", type=int, default=20, help="640x480 IMM photos")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    mapping = saved_results("peers").get("mediapipe_to_ibug68")
    runs = contenders(args, mapping)
    measured: dict[str, list[dict]] = {name: [] for name in runs}
    for round_ in range(args.rounds):
        for name, (python, code) in runs.items():
            result = probe(python, code)
            if result is not None:
                measured[name].append(result)
                print(f"round {round_ + 1} {name}: {result}", flush=True)
    keys = ("one_per_call_ms", "batched_ms", "photo_ms")
    rows = []
    for name, results in measured.items():
        if not results:
            continue
        row = {"model": name, "faces": args.faces, "photos": args.photos}
        for key in (*keys, "nme_afw"):
            row[key] = round(float(np.median([r[key] for r in results])), 4)
        row["afw_in_training"] = AFW_IN_TRAINING[name.split()[0]]
        rows.append(row)
    dlib = next((r for r in rows if r["model"].startswith("dlib")), None)
    for row in rows:
        for key in keys:
            row[f"{key.removesuffix('_ms')}_x_dlib"] = (
                None if dlib is None else round(row[key] / dlib[key], 2)
            )
    print(format_table(rows))
    save_results("speed", rows, {"rounds": args.rounds})
    picture(rows, RESULTS / "speed_accuracy.png")


if __name__ == "__main__":
    main()
