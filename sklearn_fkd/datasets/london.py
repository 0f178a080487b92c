"""The Face Research Lab London Set: 102 frontal faces with 189 WebMorph points."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..keypoints import WEBMORPH189
from ._base import dataset_folder, find_image, read_images

__all__ = ["load_london_faces", "read_tem"]

LONDON_CITATION = (
    "L. DeBruine and B. Jones, Face Research Lab London Set (Version 5), figshare, 2017. "
    "https://doi.org/10.6084/m9.figshare.5047666.v5"
)

LONDON_DESCR = f"""Face Research Lab London Set, neutral front (189 WebMorph points)
=================================================================

102 adults, one neutral frontal photo each, 450x450 RGB (downscaled from 1350x1350),
with the 189 points of WebMorph's FRL template (points 0 and 1 are the pupils), in
0-based pixels. A small, fairly aligned set with a schema of its own. groups = the
person (one image per person). Licence: CC BY 4.0 (attribution required); cite:
{LONDON_CITATION}
"""


def read_tem(path: str | Path) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Parse one Psychomorph / WebMorph ``.tem`` template file.

    Parameters
    ----------
    path : str or Path
        The point count, one ``x y`` line per point (pixels), then the template's
        lines: their count, and per line a closed flag, a point count and the indices.

    Returns
    -------
    points : ndarray of shape (n_points, 2), float64
        ``(x, y)`` pixels as stored.
    lines : list of tuple of int
        The point indices each template line joins (for drawing).

    Raises
    ------
    ValueError
        Naming the file and line when it is malformed or truncated.
    """
    path = Path(path)
    rows = path.read_text(errors="replace").splitlines()

    def number(no: int, kind=float):
        if no >= len(rows):
            raise ValueError(f"{path}: truncated after line {len(rows)}")
        try:
            return kind(rows[no].strip())
        except ValueError:
            raise ValueError(
                f"{path}, line {no + 1}: expected a number, got {rows[no]!r}"
            ) from None

    n_points = number(0, int)
    if n_points < 1:
        raise ValueError(f"{path}, line 1: the point count must be positive, got {n_points}")
    if len(rows) < 1 + n_points:
        raise ValueError(f"{path}: expected {n_points} point lines, found {len(rows) - 1}")
    points = np.empty((n_points, 2))
    for k in range(n_points):
        fields = rows[1 + k].split()
        try:
            if len(fields) != 2:
                raise ValueError
            points[k] = float(fields[0]), float(fields[1])
        except ValueError:
            raise ValueError(
                f"{path}, line {k + 2}: expected 'x y', got {rows[1 + k].strip()!r}"
            ) from None
    if not np.isfinite(points).all():
        raise ValueError(f"{path}: non-finite coordinates")
    lines: list[tuple[int, ...]] = []
    at = 1 + n_points
    if at < len(rows) and rows[at].strip():
        n_lines = number(at, int)
        at += 1
        for _ in range(n_lines):
            count = number(at + 1, int)
            if at + 2 >= len(rows):
                raise ValueError(f"{path}: truncated template line after line {at + 2}")
            index = tuple(int(v) for v in rows[at + 2].split())
            if len(index) != count or not all(0 <= i < n_points for i in index):
                raise ValueError(f"{path}, line {at + 3}: bad template line {rows[at + 2]!r}")
            lines.append(index)
            at += 3
    return points, lines


def load_london_faces(data_home=None, as_gray: bool = False) -> Bunch:
    """Load the Face Research Lab London Set (DeBruine & Jones 2017): 102 faces, 189 points.

    Parameters
    ----------
    data_home : str or path-like, optional
        Folder holding ``london_face_189pt/``; see :func:`get_data_home`.
    as_gray : bool, default=False
        Grey ``(H, W)`` instead of RGB ``(H, W, 3)`` images.

    Returns
    -------
    Bunch with
        images : ndarray of shape (102, 450, 450[, 3]), uint8
        keypoints : ndarray of shape (102, 378), float64, 0-based pixels
        schema : KeypointSchema (:data:`~sklearn_fkd.keypoints.WEBMORPH189`)
        filenames : ndarray of str
        groups : ndarray of str, the person (one image each)
        DESCR : str
    """
    folder = dataset_folder("london_face_189pt", data_home)
    tem_files = sorted(folder.glob("*.tem"))
    if not tem_files:
        raise FileNotFoundError(f"no .tem files in {folder}")
    shapes = []
    for path in tem_files:
        points, _ = read_tem(path)
        if len(points) != WEBMORPH189.n_points:
            raise ValueError(f"{path}: {len(points)} points, the FRL template has 189")
        shapes.append(points)
    image_paths = [find_image(p) for p in tem_files]
    return Bunch(
        images=np.stack(read_images(image_paths, as_gray=as_gray)),
        keypoints=np.stack(shapes).reshape(len(shapes), -1),
        schema=WEBMORPH189,
        filenames=np.array([str(p) for p in image_paths]),
        groups=np.array([p.stem.split("_")[0] for p in tem_files]),
        DESCR=LONDON_DESCR,
    )
