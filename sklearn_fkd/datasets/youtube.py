"""YouTube Faces frames with 68 points (the Udacity facial keypoints CSV)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..keypoints import IBUG68
from ._base import dataset_folder, listed_image_paths, numeric_columns, read_images

__all__ = ["load_youtube_faces", "read_keypoints_csv"]

YOUTUBE_CITATION = (
    "L. Wolf, T. Hassner and I. Maoz, Face Recognition in Unconstrained Videos with "
    "Matched Background Similarity, CVPR 2011."
)

YOUTUBE_DESCR = f"""YouTube Faces frames with 68 points (Udacity CSV)
=================================================

Face crops of varied size (width 72-494, height 87-478) extracted from the YouTube Faces
Database, with the 68 iBUG points in 0-based pixel coordinates. 3,462 training and 770
test images. The splits share all 347 people (split by frame, not by person): groups =
the person's name (file name without the frame number), use them for person-disjoint
cross-validation. Six training images have jaw points slightly outside the frame.

Research and education only; cite:
{YOUTUBE_CITATION}
"""


def read_keypoints_csv(
    path: str | Path, n_points: int | None = None
) -> tuple[list[str], np.ndarray]:
    """Read a CSV of ``name, x0, y0, x1, y1, ...`` rows (the Udacity 68-point layout).

    Parameters
    ----------
    path : str or Path
        A header line, then one row per image: the file name, then ``2K`` numbers.
        Empty cells are missing points (NaN).
    n_points : int, optional
        Expected ``K``.

    Returns
    -------
    names : list of str
    keypoints : ndarray of shape (n_rows, 2K), float64

    Raises
    ------
    ValueError
        Naming the file and line of a row with the wrong number of fields or a
        non-numeric value.
    """
    path = Path(path)
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise ValueError(f"{path}: empty file (expected a header line)")
    width = len(rows[0])
    for no, row in enumerate(rows[1:], start=2):
        if len(row) != width and any(cell.strip() for cell in row):
            raise ValueError(f"{path}, line {no}: {len(row)} fields where the header has {width}")
    try:
        frame = pd.read_csv(path, header=0, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: malformed CSV ({exc})") from exc
    if frame.shape[1] < 3 or (frame.shape[1] - 1) % 2:
        raise ValueError(
            f"{path}: expected a name column and an even number of coordinate columns, "
            f"found {frame.shape[1]} columns"
        )
    if n_points is not None and frame.shape[1] - 1 != 2 * n_points:
        raise ValueError(
            f"{path}: expected {2 * n_points} coordinate columns, found {frame.shape[1] - 1}"
        )
    keypoints = numeric_columns(frame.iloc[:, 1:], path)
    names = frame.iloc[:, 0].tolist()
    if any(not n for n in names):
        row = names.index("")
        raise ValueError(f"{path}, line {row + 2}: empty image name")
    return names, keypoints


def load_youtube_faces(subset: str = "train", data_home=None, as_gray: bool = False) -> Bunch:
    """Load the 68-point YouTube Faces frames (Wolf et al. 2011; Udacity's CSV).

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        3,462 training or 770 test images.
    data_home : str or path-like, optional
        Folder holding ``youtube_faces_68pt/``; see :func:`get_data_home`.
    as_gray : bool, default=False
        Grey ``(H, W)`` instead of RGB ``(H, W, 3)`` images.

    Returns
    -------
    Bunch with
        images : list of ndarray, uint8 (the sizes vary)
        keypoints : ndarray of shape (n, 136), float64, 0-based pixels
        schema : KeypointSchema (:data:`~sklearn_fkd.keypoints.IBUG68`)
        filenames : ndarray of str
        groups : ndarray of str, the person's name
        DESCR : str
    """
    files = {
        "train": ("training", "training_frames_keypoints.csv"),
        "test": ("test", "test_frames_keypoints.csv"),
    }
    if subset not in files:
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
    folder = dataset_folder("youtube_faces_68pt", data_home)
    image_dir, csv_name = files[subset]
    names, keypoints = read_keypoints_csv(folder / csv_name, n_points=IBUG68.n_points)
    paths = listed_image_paths(folder / image_dir, names, listed_in=csv_name)
    return Bunch(
        images=read_images(paths, as_gray=as_gray),
        keypoints=keypoints,
        schema=IBUG68,
        filenames=np.array([str(p) for p in paths]),
        groups=np.array([Path(n).stem.rsplit("_", 1)[0] for n in names]),
        DESCR=YOUTUBE_DESCR,
    )
