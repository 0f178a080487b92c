"""Kaggle Facial Keypoints Detection: reading its CSVs, writing CSVs and submissions."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..geometry import image_shapes, resize_map
from ..imaging import resize_image, to_gray
from ..keypoints import KAGGLE15, KeypointSchema, check_keypoints, convert_keypoints
from ..utils.validation import check_consistent_length
from ._base import numeric_columns

__all__ = [
    "KAGGLE_CORE_POINTS",
    "load_kaggle_fkd",
    "make_kaggle_like",
    "write_kaggle_csv",
    "write_kaggle_submission",
]

KAGGLE_SIZE = 96
# The four points present on (almost) every row of Kaggle's training.csv; the other 11
# are present on only 2,140 of its 7,049 rows.
KAGGLE_CORE_POINTS = ("left_eye_center", "right_eye_center", "nose_tip", "mouth_center_bottom_lip")

KAGGLE_DESCR = """Kaggle Facial Keypoints Detection (15 points, 96x96 grey)
=========================================================

training.csv: 7,049 rows, 30 keypoint columns (x, y of 15 points; about 70 % of the rows
have only 4 of them) and the image as 9,216 space-separated grey levels. test.csv: 1,783
rows of ImageId and Image. Kaggle's "left" is the subject's left (the image's right).
Data by Yoshua Bengio's group, Université de Montréal; Kaggle competition rules apply
(competition and non-commercial research or education use).
"""


def _parse_image_column(values, path: Path, first_line: int) -> np.ndarray:
    images = np.empty((len(values), KAGGLE_SIZE, KAGGLE_SIZE), dtype=np.uint8)
    n_pixels = KAGGLE_SIZE * KAGGLE_SIZE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for i, text in enumerate(values):
            pixels = np.fromstring(str(text), dtype=np.float64, sep=" ")
            if pixels.size != n_pixels or not np.all((pixels >= 0) & (pixels <= 255)):
                raise ValueError(
                    f"{path}, line {first_line + i}: Image must hold {n_pixels} grey levels "
                    f"in 0..255, found {pixels.size} values"
                    + ("" if pixels.size != n_pixels else " with some outside 0..255")
                )
            images[i] = pixels.reshape(KAGGLE_SIZE, KAGGLE_SIZE)
    return images


def load_kaggle_fkd(path, subset: str = "train") -> Bunch:
    """Read Kaggle's ``training.csv`` or ``test.csv`` (Facial Keypoints Detection).

    Rows with missing keypoints are kept; missing values are NaN.

    Parameters
    ----------
    path : str or Path
        The CSV file itself, or the folder that holds ``training.csv``/``test.csv``.
    subset : {"train", "test"}, default="train"
        Which file to read when ``path`` is a folder; also decides whether keypoint
        columns are expected.

    Returns
    -------
    Bunch with
        images : ndarray of shape (n, 96, 96), uint8
        keypoints : ndarray of shape (n, 30), float64 (``None`` for the test set)
        image_ids : ndarray of int (test set: Kaggle's ``ImageId``; train: 1..n)
        schema : KeypointSchema (:data:`~sklearn_fkd.keypoints.KAGGLE15`)
        DESCR : str

    Raises
    ------
    ValueError
        Naming the file and line of a malformed row; naming missing columns.
    """
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}")
    path = Path(path)
    if path.is_dir():
        path = path / ("training.csv" if subset == "train" else "test.csv")
    if not path.is_file():
        raise FileNotFoundError(
            f"Kaggle file {path} not found. Download training.csv and test.csv from "
            "kaggle.com/c/facial-keypoints-detection/data and pass their folder."
        )
    try:
        frame = pd.read_csv(path, dtype={"Image": str})
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: malformed CSV ({exc})") from exc
    needed = ["Image"] + (KAGGLE15.column_names if subset == "train" else ["ImageId"])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing} for the {subset} subset")
    if frame["Image"].isna().any():
        row = int(np.flatnonzero(frame["Image"].isna())[0])
        raise ValueError(f"{path}, line {row + 2}: empty Image")
    images = _parse_image_column(frame["Image"].to_numpy(), path, first_line=2)
    keypoints = None
    if subset == "train":
        numeric = numeric_columns(frame[KAGGLE15.column_names], path)
        keypoints = check_keypoints(numeric, name=str(path))
        image_ids = np.arange(1, len(frame) + 1)
    else:
        image_ids = frame["ImageId"].to_numpy(dtype=np.int64)
    return Bunch(
        images=images,
        keypoints=keypoints,
        image_ids=image_ids,
        schema=KAGGLE15,
        DESCR=KAGGLE_DESCR,
    )


def write_kaggle_csv(images, keypoints, path, image_ids=None) -> Path:
    """Write 96x96 grey faces in Kaggle's CSV format (``training.csv`` or ``test.csv``).

    Parameters
    ----------
    images : ndarray of shape (n, 96, 96), uint8
    keypoints : ndarray of shape (n, 30) or (n, 15, 2), or None
        KAGGLE15 points (NaN = missing, written as an empty cell). ``None`` writes the
        test layout ``ImageId,Image``.
    path : str or Path
    image_ids : array-like of int, optional
        The test layout's ``ImageId`` (default 1..n).

    Returns
    -------
    Path
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (KAGGLE_SIZE, KAGGLE_SIZE):
        raise ValueError(f"images must have shape (n, 96, 96), got {images.shape}")
    if images.dtype != np.uint8:
        raise TypeError(f"images must be uint8 grey levels, got dtype {images.dtype}")
    pixels = [" ".join(map(str, im.ravel().tolist())) for im in images]
    if keypoints is None:
        ids = np.arange(1, len(images) + 1) if image_ids is None else np.asarray(image_ids)
        frame = pd.DataFrame({"ImageId": ids, "Image": pixels})
    else:
        kp = check_keypoints(keypoints, n_points=KAGGLE15.n_points, name="keypoints")
        check_consistent_length(X=images, keypoints=kp)
        frame = pd.DataFrame(kp, columns=KAGGLE15.column_names)
        frame["Image"] = pixels
    path = Path(path)
    frame.to_csv(path, index=False, float_format="%.6f")
    return path


def make_kaggle_like(
    images,
    keypoints,
    schema: KeypointSchema,
    missing_fraction: float = 0.7,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Turn faces with another schema into Kaggle-format data (a proxy training set).

    Each image is made grey and resized to 96x96, its points converted to the 15 Kaggle
    points (see :func:`~sklearn_fkd.keypoints.convert_keypoints`), and on a random
    ``missing_fraction`` of the rows only Kaggle's four core points are kept, the other
    11 set to NaN, as in Kaggle's ``training.csv``.

    Parameters
    ----------
    images : sequence of ndarray (H, W[, 3])
        Face crops of any size.
    keypoints : ndarray of shape (n, 2K)
    schema : KeypointSchema
        The schema of ``keypoints`` (one that converts to KAGGLE15, e.g. IBUG68).
    missing_fraction : float in [0, 1], default=0.7
    random_state : int, Generator or None

    Returns
    -------
    images96 : ndarray of shape (n, 96, 96), uint8
    keypoints30 : ndarray of shape (n, 30), float64
    """
    if not 0.0 <= missing_fraction <= 1.0:
        raise ValueError(f"missing_fraction must be in [0, 1], got {missing_fraction}")
    kp = check_keypoints(keypoints, n_points=schema.n_points)
    check_consistent_length(X=images, keypoints=kp)
    out_images = np.empty((len(images), KAGGLE_SIZE, KAGGLE_SIZE), dtype=np.uint8)
    for i, image in enumerate(images):
        grey = to_gray(np.asarray(image))
        if grey.dtype != np.uint8:
            raise TypeError(f"images must be uint8, image {i} has dtype {grey.dtype}")
        out_images[i] = resize_image(grey, (KAGGLE_SIZE, KAGGLE_SIZE))
    resized = resize_map(image_shapes(images), (KAGGLE_SIZE, KAGGLE_SIZE)).forward(kp)
    kaggle = convert_keypoints(resized, schema, KAGGLE15)
    rng = np.random.default_rng(random_state)
    drop_rows = rng.random(len(kaggle)) < missing_fraction
    optional = [i for i, n in enumerate(KAGGLE15.point_names) if n not in KAGGLE_CORE_POINTS]
    cols = np.array([2 * i + a for i in optional for a in (0, 1)])
    kaggle[np.ix_(drop_rows, cols)] = np.nan
    return out_images, kaggle


def write_kaggle_submission(predictions, lookup_table, path, image_ids=None) -> Path:
    """Write a Kaggle ``RowId,Location`` submission from predicted keypoints.

    Parameters
    ----------
    predictions : ndarray of shape (n_images, 30) or (n_images, 15, 2)
        KAGGLE15 points of the test images, pixels in the 96x96 frame.
    lookup_table : str, Path or DataFrame
        Kaggle's ``IdLookupTable.csv`` (``RowId,ImageId,FeatureName,Location``).
    path : str or Path
        Where to write the submission.
    image_ids : array-like of int, optional
        The ``ImageId`` of each prediction row (default: row ``i`` is ImageId ``i + 1``,
        the order of Kaggle's ``test.csv``).

    Returns
    -------
    Path

    Notes
    -----
    Locations are clipped to the image, ``[0, 95]``. A requested location whose
    prediction is NaN, or an ImageId without a prediction, is an error.
    """
    pred = check_keypoints(predictions, n_points=KAGGLE15.n_points, name="predictions")
    table = lookup_table if isinstance(lookup_table, pd.DataFrame) else pd.read_csv(lookup_table)
    needed = {"RowId", "ImageId", "FeatureName"}
    if not needed <= set(table.columns):
        raise ValueError(f"lookup table lacks column(s) {sorted(needed - set(table.columns))}")
    ids = np.arange(1, len(pred) + 1) if image_ids is None else np.asarray(image_ids)
    if ids.shape != (len(pred),):
        raise ValueError(f"image_ids must have shape ({len(pred)},), got {ids.shape}")
    row_of_id = pd.Series(np.arange(len(ids)), index=ids)
    if not row_of_id.index.is_unique:
        raise ValueError("image_ids contains duplicates")
    unknown = ~table["ImageId"].isin(row_of_id.index)
    if unknown.any():
        raise ValueError(
            f"{int(unknown.sum())} lookup rows ask for ImageIds without a prediction, "
            f"e.g. ImageId {int(table.loc[unknown, 'ImageId'].iloc[0])}"
        )
    col_of_name = {c: j for j, c in enumerate(KAGGLE15.column_names)}
    bad_names = set(table["FeatureName"]) - set(col_of_name)
    if bad_names:
        raise ValueError(f"lookup table has unknown FeatureName(s): {sorted(bad_names)[:5]}")
    rows = row_of_id.loc[table["ImageId"]].to_numpy()
    cols = table["FeatureName"].map(col_of_name).to_numpy()
    location = pred[rows, cols]
    if np.isnan(location).any():
        k = int(np.flatnonzero(np.isnan(location))[0])
        raise ValueError(
            f"prediction for ImageId {int(table['ImageId'].iat[k])} "
            f"{table['FeatureName'].iat[k]} is NaN"
        )
    out = pd.DataFrame(
        {"RowId": table["RowId"].to_numpy(), "Location": np.clip(location, 0.0, KAGGLE_SIZE - 1.0)}
    )
    path = Path(path)
    out.to_csv(path, index=False)
    return path
