"""iBUG ``.pts`` folders (300-W, HELEN, AFW, menpo, with menpo's ``.ljson``) and dlib's
landmark XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..imaging import stack_if_uniform
from ..keypoints import infer_schema
from ._base import dataset_folder, find_image, read_images

__all__ = ["load_dlib_xml", "load_helen_afw", "load_ibug", "read_ljson", "read_pts"]

IBUG_CITATION = (
    "C. Sagonas, G. Tzimiropoulos, S. Zafeiriou and M. Pantic, 300 Faces in-the-Wild "
    "Challenge: The first facial landmark localization Challenge, ICCV Workshops 2013; "
    "C. Sagonas, E. Antonakos, G. Tzimiropoulos, S. Zafeiriou and M. Pantic, 300 Faces "
    "In-The-Wild Challenge: database and results, Image and Vision Computing 47:3-18, 2016."
)
HELEN_CITATION = (
    "V. Le, J. Brandt, Z. Lin, L. Bourdev and T. S. Huang, Interactive Facial Feature "
    "Localization, ECCV 2012."
)
LFPW_CITATION = (
    "P. N. Belhumeur, D. W. Jacobs, D. J. Kriegman and N. Kumar, Localizing parts of "
    "faces using a consensus of exemplars, CVPR 2011."
)
AFW_CITATION = (
    "X. Zhu and D. Ramanan, Face detection, pose estimation, and landmark localization "
    "in the wild, CVPR 2012."
)


def read_pts(path: str | Path, one_based: bool = True) -> np.ndarray:
    """Parse one iBUG ``.pts`` file into 0-based pixel coordinates.

    Parameters
    ----------
    path : str or Path
        ``version: 1``, ``n_points: K``, ``{``, K lines ``x y``, ``}``.
    one_based : bool, default=True
        The iBUG convention puts the first pixel's centre at (1, 1); subtract 1.

    Returns
    -------
    ndarray of shape (K, 2), float64

    Raises
    ------
    ValueError
        Naming the file and line when the file is malformed or truncated.
    """
    path = Path(path)
    lines = path.read_text(errors="replace").splitlines()
    n_points, start = None, None
    for no, line in enumerate(lines, start=1):
        text = line.strip()
        if text.lower().startswith("n_points"):
            try:
                n_points = int(text.split(":", 1)[1])
            except (IndexError, ValueError):
                raise ValueError(f"{path}, line {no}: bad n_points line {text!r}") from None
        elif text == "{":
            start = no
            break
    if n_points is None or start is None:
        raise ValueError(f"{path}: not an iBUG .pts file (no 'n_points:' header and '{{')")
    body = lines[start : start + n_points + 1]
    if len(body) < n_points + 1 or body[n_points].strip() != "}":
        raise ValueError(
            f"{path}: expected {n_points} point lines and a closing '}}' after line "
            f"{start} (truncated file?)"
        )
    pts = np.empty((n_points, 2))
    for k, line in enumerate(body[:n_points]):
        no = start + 1 + k
        fields = line.split()
        try:
            if len(fields) != 2:
                raise ValueError
            pts[k] = float(fields[0]), float(fields[1])
        except ValueError:
            raise ValueError(f"{path}, line {no}: expected 'x y', got {line.strip()!r}") from None
        if not np.isfinite(pts[k]).all():
            raise ValueError(f"{path}, line {no}: non-finite coordinate {line.strip()!r}")
    return pts - 1.0 if one_based else pts


def read_ljson(path: str | Path, group: str | None = None) -> np.ndarray:
    """Parse one menpo ``.ljson`` landmark file into 0-based ``(x, y)`` pixels.

    menpo stores each point as ``[y, x]`` (row, column), 0-based; a ``null`` point is
    missing and comes back as NaN.

    Parameters
    ----------
    path : str or Path
        ``{"version": 2 or 3, "groups": {name: {"landmarks": {"points": [[y, x], ...]}}}}``
        (version 3), or version 1/2's single ``{"landmarks": {"points": ...}}``.
    group : str, optional
        Which landmark group to read. By default the only one, else menpo's default group
        ``"LJSON"`` (what menpo names an unnamed group); otherwise an error lists them.

    Returns
    -------
    ndarray of shape (K, 2), float64

    Raises
    ------
    ValueError
        Naming the file when it is not LJSON, the group is unknown or ambiguous, or a
        point is not a pair of numbers.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a menpo .ljson file ({err})") from None
    if not isinstance(doc, dict) or not ("groups" in doc or "landmarks" in doc):
        raise ValueError(f"{path}: not a menpo .ljson file (no 'groups' or 'landmarks')")
    groups = doc["groups"] if "groups" in doc else {"LJSON": doc}
    if group is None:
        group = next(iter(groups)) if len(groups) == 1 else "LJSON"
        if group not in groups:
            raise ValueError(
                f"{path} has the landmark groups {sorted(groups)}: say which with group="
            )
    elif group not in groups:
        raise ValueError(f"{path}: no landmark group {group!r}; it has {sorted(groups)}")
    points = groups[group].get("landmarks", {}).get("points")
    if not isinstance(points, list):
        raise ValueError(f"{path}: group {group!r} has no landmarks.points list")
    yx = np.full((len(points), 2), np.nan)
    for k, point in enumerate(points):
        if point is None or (isinstance(point, list) and None in point):
            continue  # missing: NaN
        try:
            yx[k] = [float(v) for v in point]
        except (TypeError, ValueError):
            raise ValueError(f"{path}: point {k} of {group!r} is not [y, x]: {point!r}") from None
    return yx[:, ::-1].copy()


def _group_of(stem: str) -> str:
    """300-W ids are ``<photo>_<face>``: faces of one photo share a group."""
    head, _, tail = stem.rpartition("_")
    return head if head and tail.isdigit() else stem


def load_ibug(
    path: str | Path, as_gray: bool = False, one_based: bool = True, descr: str | None = None
) -> Bunch:
    """Load a folder of images with iBUG ``.pts`` annotations (300-W layout).

    Every ``<stem>.pts`` in the folder (not recursive) is paired with the image of the
    same stem (``.jpg``, ``.png``, ``.ppm``, ...); an annotation without its image is an
    error, an image without an annotation is not loaded. menpo's ``<stem>.ljson`` files
    are read too (see :func:`read_ljson`), unless the stem also has a ``.pts``.

    Parameters
    ----------
    path : str or Path
        The folder.
    as_gray : bool, default=False
        Grey ``(H, W)`` instead of RGB ``(H, W, 3)`` images.
    one_based : bool, default=True
        ``.pts`` files are 1-based by the iBUG convention; converted to 0-based
        (``.ljson`` files are 0-based already).
    descr : str, optional
        Description to store in ``DESCR`` (defaults to the 300-W citation).

    Returns
    -------
    Bunch with
        images : ndarray (n, H, W[, 3]) if all sizes agree, else a list of arrays; uint8
        keypoints : ndarray of shape (n, 2K), float64, 0-based pixels
        schema : KeypointSchema inferred from K (68 -> IBUG68)
        filenames : ndarray of str, the image paths
        groups : ndarray of str, the photo id (300-W ``<photo>_<face>`` names) or stem
        DESCR : str
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"iBUG folder {folder} not found")
    pts_files = sorted(folder.glob("*.pts"))
    stems = {p.stem for p in pts_files}
    ljson_files = [p for p in sorted(folder.glob("*.ljson")) if p.stem not in stems]
    annotations = sorted(pts_files + ljson_files, key=lambda p: p.name)
    if not annotations:
        raise FileNotFoundError(f"no .pts or .ljson files in {folder}")
    shapes = [
        read_ljson(p) if p.suffix == ".ljson" else read_pts(p, one_based=one_based)
        for p in annotations
    ]
    counts = {s.shape[0] for s in shapes}
    if len(counts) != 1:
        raise ValueError(f"{folder}: .pts files disagree on the point count: {sorted(counts)}")
    image_paths = [find_image(p) for p in annotations]
    return Bunch(
        images=stack_if_uniform(read_images(image_paths, as_gray=as_gray)),
        keypoints=np.stack(shapes).reshape(len(shapes), -1),
        schema=infer_schema(counts.pop()),
        filenames=np.array([str(p) for p in image_paths]),
        groups=np.array([_group_of(p.stem) for p in annotations]),
        DESCR=descr or f"iBUG .pts folder {folder}\n\nCite 300-W: {IBUG_CITATION}\n",
    )


def load_helen_afw(subset: str = "helen", data_home=None, as_gray: bool = False) -> Bunch:
    """Load the 300-W HELEN (870 training crops), LFPW (805 training crops) or AFW (337
    crops) 68-point faces.

    Face crops (points' box plus 30 % margin, longer side at most 384 px) from
    ``helen_afw_68pt/`` in the data home. See :func:`load_ibug` for the fields.

    Parameters
    ----------
    subset : {"helen", "lfpw", "afw"}
    data_home : str or path-like, optional
    as_gray : bool, default=False
    """
    folders = {
        "helen": ("helen_trainset", HELEN_CITATION),
        "lfpw": ("lfpw_trainset", LFPW_CITATION),
        "afw": ("afw", AFW_CITATION),
    }
    if subset not in folders:
        raise ValueError(f"subset must be 'helen', 'lfpw' or 'afw', got {subset!r}")
    sub, cite = folders[subset]
    root = dataset_folder("helen_afw_68pt", data_home)
    descr = (
        f"300-W {subset.upper()} face crops, 68 iBUG points\n\n"
        "Research, non-commercial use only. Cite 300-W: "
        f"{IBUG_CITATION}\nand {subset.upper()}: {cite}\n"
    )
    return load_ibug(root / sub, as_gray=as_gray, descr=descr)


def load_dlib_xml(xml_path: str | Path, as_gray: bool = False, load_images: bool = True) -> Bunch:
    """Load a dlib landmark XML (e.g. ``ibug_300W_large_face_landmark_dataset``).

    One sample per ``<box>``: an image with several faces appears once per face. Part
    coordinates are taken as dlib's 0-based pixels; parts absent from a box are NaN.

    Parameters
    ----------
    xml_path : str or Path
        The XML file; image paths in it are relative to its folder.
    as_gray : bool, default=False
    load_images : bool, default=True
        When False, ``images`` is None (read only points, boxes and names).

    Returns
    -------
    Bunch with
        images : list of ndarray (or None)
        keypoints : ndarray of shape (n_boxes, 2K), float64 (NaN where a part is absent)
        boxes : ndarray of shape (n_boxes, 4), float64, ``(x0, y0, x1 = left + width, y1)``
        ignore : ndarray of bool, dlib's ``ignore`` flag of each box
        schema : KeypointSchema inferred from K
        filenames : ndarray of str
        groups : ndarray of str, the image path (faces of one image share a group)
        DESCR : str
    """
    xml_path = Path(xml_path)
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as exc:
        raise ValueError(f"{xml_path}: malformed XML ({exc})") from exc
    except FileNotFoundError:
        raise
    images_el = root.find("images")
    if images_el is None:
        raise ValueError(f"{xml_path}: no <images> element (not a dlib landmark XML)")
    records = []
    n_points = 0
    for image_el in images_el.iter("image"):
        file = image_el.get("file")
        if not file:
            raise ValueError(f"{xml_path}: an <image> element has no 'file' attribute")
        for box in image_el.iter("box"):
            try:
                left, top = float(box.get("left")), float(box.get("top"))
                width, height = float(box.get("width")), float(box.get("height"))
                parts = {
                    int(p.get("name")): (float(p.get("x")), float(p.get("y")))
                    for p in box.iter("part")
                }
            except (TypeError, ValueError):
                raise ValueError(
                    f"{xml_path}: box of image {file!r} has a missing or non-numeric "
                    "attribute (left/top/width/height or part name/x/y)"
                ) from None
            if parts:
                n_points = max(n_points, max(parts) + 1)
            records.append(
                (file, (left, top, left + width, top + height), box.get("ignore") == "1", parts)
            )
    if not records:
        raise ValueError(f"{xml_path}: no <box> elements")
    if n_points == 0:
        raise ValueError(f"{xml_path}: no <part> elements in any box")
    keypoints = np.full((len(records), n_points, 2), np.nan)
    for i, (_, _, _, parts) in enumerate(records):
        for k, xy in parts.items():
            keypoints[i, k] = xy
    paths = [xml_path.parent / r[0] for r in records]
    images = None
    if load_images:
        unique = sorted(set(paths))
        decoded = dict(zip(unique, read_images(unique, as_gray=as_gray), strict=True))
        images = [decoded[p] for p in paths]
    return Bunch(
        images=images,
        keypoints=keypoints.reshape(len(records), -1),
        boxes=np.array([r[1] for r in records], dtype=np.float64),
        ignore=np.array([r[2] for r in records]),
        schema=infer_schema(n_points),
        filenames=np.array([str(p) for p in paths]),
        groups=np.array([r[0] for r in records]),
        DESCR=f"dlib landmark XML {xml_path}\n\nFor 300-W data cite: {IBUG_CITATION}\n",
    )
