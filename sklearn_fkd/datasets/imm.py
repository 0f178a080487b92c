"""The IMM face database: 240 images of 40 persons, 58 points each."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..keypoints import IMM58
from ._base import dataset_folder, read_images

__all__ = ["load_imm_faces", "read_asf"]

IMM_CITATION = (
    "M. M. Nordstrøm, M. Larsen, J. Sierakowski and M. B. Stegmann, The IMM Face "
    "Database - An Annotated Dataset of 240 Face Images, Informatics and Mathematical "
    "Modelling, Technical University of Denmark, 2004. / M. B. Stegmann, B. K. Ersbøll "
    "and R. Larsen, FAME - a flexible appearance modelling environment, IEEE Trans. on "
    "Medical Imaging 22(10):1319-1331, 2003."
)

IMM_DESCR = f"""IMM face database (58 points)
==============================

240 colour images (640x480) of 40 persons, 6 views each: 1 frontal neutral, 2 frontal
happy, 3 turned ~30 degrees to the person's right, 4 to the left, 5 spot light at the
person's left, 6 arbitrary expression. Persons 02-04 are greyscale stored as RGB.
58 points on 7 paths (jaw, eyes, brows, mouth, nose); the .asf files store coordinates
relative to the image size, converted here to 0-based pixels (x = x_rel * width).
groups = person number (1..40); use them for person-disjoint splits.

Free for education and research; cite:
{IMM_CITATION}
"""

_IMM_NAME = re.compile(r"^(\d{2})-(\d)([mf])$")


def read_asf(path: str | Path) -> tuple[np.ndarray, str]:
    """Parse one IMM ``.asf`` shape file.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    points_rel : ndarray of shape (n_points, 2)
        ``(x, y)`` relative to the image width and height, in [0, 1].
    host_image : str
        The image file name recorded at the end of the file.

    Raises
    ------
    ValueError
        Naming the file and line when the file is malformed.
    """
    path = Path(path)
    lines = [
        (no, ln.strip())
        for no, ln in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not lines:
        raise ValueError(f"{path}: empty .asf file (no point count)")
    no, first = lines[0]
    try:
        n_points = int(first)
    except ValueError:
        raise ValueError(f"{path}, line {no}: expected the point count, got {first!r}") from None
    if len(lines) < n_points + 2:
        raise ValueError(
            f"{path}: expected {n_points} point lines and the host image line, found "
            f"{len(lines) - 1} lines (truncated file?)"
        )
    pts = np.empty((n_points, 2))
    for k, (no, line) in enumerate(lines[1 : n_points + 1]):
        fields = line.split()
        if len(fields) < 7:  # some files of the official release carry 3 extra fields
            raise ValueError(
                f"{path}, line {no}: expected at least 7 fields "
                f"'<path> <type> <x> <y> <point> <from> <to>', got {line!r}"
            )
        try:
            x, y = float(fields[2]), float(fields[3])
        except ValueError:
            raise ValueError(f"{path}, line {no}: non-numeric coordinate in {line!r}") from None
        if not (np.isfinite(x) and np.isfinite(y)):
            raise ValueError(f"{path}, line {no}: non-finite coordinate in {line!r}")
        pts[k] = x, y
    return pts, lines[n_points + 1][1]


def load_imm_faces(data_home=None, as_gray: bool = False) -> Bunch:
    """Load the IMM face database (Nordstrøm et al. 2004): 240 images, 58 points.

    Parameters
    ----------
    data_home : str or path-like, optional
        Folder holding ``imm_face_db/``; see :func:`get_data_home`.
    as_gray : bool, default=False
        Return grey ``(240, 480, 640)`` uint8 images instead of RGB
        ``(240, 480, 640, 3)``.

    Returns
    -------
    Bunch with
        images : ndarray of shape (240, 480, 640[, 3]), uint8
        keypoints : ndarray of shape (240, 116), float64, 0-based pixels ``x0, y0, ...``
        schema : KeypointSchema (:data:`~sklearn_fkd.keypoints.IMM58`)
        filenames : ndarray of str, the image paths
        groups : ndarray of int, person number 1..40
        image_type : ndarray of int, view 1..6
        gender : ndarray of str, ``"m"`` or ``"f"``
        DESCR : str, description and citation

    Examples
    --------
    >>> from sklearn_fkd.datasets import load_imm_faces
    >>> imm = load_imm_faces(as_gray=True)  # doctest: +SKIP
    >>> imm.images.shape, imm.keypoints.shape  # doctest: +SKIP
    ((240, 480, 640), (240, 116))
    """
    folder = dataset_folder("imm_face_db", data_home)
    asf_files = sorted(folder.glob("*.asf"))
    if not asf_files:
        raise FileNotFoundError(f"no .asf files in {folder}")
    rel, image_paths, groups, types, genders = [], [], [], [], []
    for asf in asf_files:
        pts, host = read_asf(asf)
        if pts.shape[0] != IMM58.n_points:
            raise ValueError(f"{asf}: expected 58 points, found {pts.shape[0]}")
        match = _IMM_NAME.match(asf.stem)
        if match is None:
            raise ValueError(f"{asf}: file name is not of the IMM form NN-Tg (e.g. 01-1m)")
        image_path = folder / host
        if not image_path.is_file():
            raise FileNotFoundError(f"{asf}: host image {host} not found in {folder}")
        rel.append(pts)
        image_paths.append(image_path)
        groups.append(int(match.group(1)))
        types.append(int(match.group(2)))
        genders.append(match.group(3))
    images = read_images(image_paths, as_gray=as_gray)
    sizes = np.array([[im.shape[1], im.shape[0]] for im in images], dtype=np.float64)
    keypoints = (np.stack(rel) * sizes[:, None, :]).reshape(len(images), -1)
    return Bunch(
        images=np.stack(images),
        keypoints=keypoints,
        schema=IMM58,
        filenames=np.array([str(p) for p in image_paths]),
        groups=np.array(groups),
        image_type=np.array(types),
        gender=np.array(genders),
        DESCR=IMM_DESCR,
    )
