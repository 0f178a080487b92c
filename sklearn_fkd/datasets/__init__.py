"""Loaders for the face keypoint data sets users have.

Every loader returns a :class:`sklearn.utils.Bunch` with ``images``, ``keypoints``
(``(n, 2K)``, 0-based pixels, NaN = missing), ``schema``, ``filenames``, ``groups`` and
``DESCR`` (with the citation). The data folder is resolved by :func:`get_data_home`.
"""

from ._base import (
    DATA_ENV_VAR,
    IMAGE_SUFFIXES,
    get_data_home,
    loading_progress,
    read_image,
    read_images,
)
from .ibug import load_dlib_xml, load_helen_afw, load_ibug, read_ljson, read_pts
from .imm import load_imm_faces, read_asf
from .kaggle import load_kaggle_fkd, make_kaggle_like, write_kaggle_csv, write_kaggle_submission
from .london import load_london_faces, read_tem
from .named import DATASET_SPECS, load_dataset, split_dataset_spec
from .youtube import load_youtube_faces, read_keypoints_csv

__all__ = [
    "DATASET_SPECS",
    "DATA_ENV_VAR",
    "IMAGE_SUFFIXES",
    "get_data_home",
    "load_dataset",
    "load_dlib_xml",
    "load_helen_afw",
    "load_ibug",
    "load_imm_faces",
    "load_kaggle_fkd",
    "load_london_faces",
    "load_youtube_faces",
    "loading_progress",
    "make_kaggle_like",
    "read_asf",
    "read_image",
    "read_images",
    "read_keypoints_csv",
    "read_ljson",
    "read_pts",
    "read_tem",
    "split_dataset_spec",
    "write_kaggle_csv",
    "write_kaggle_submission",
]
