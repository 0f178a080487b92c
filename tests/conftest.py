"""Shared fixtures: the real data sets, skipped cleanly when absent."""

from __future__ import annotations

import numpy as np
import pytest

from sklearn_fkd.datasets import get_data_home


def data_folder(name: str):
    """The data set folder, or skip the test saying where the data is expected."""
    folder = get_data_home() / name
    if not folder.is_dir():
        pytest.skip(f"real data {name!r} not found at {folder} (set SKLEARN_FKD_DATA)")
    return folder


@pytest.fixture(scope="session")
def imm():
    """The IMM faces, grey (Nordstrøm et al. 2004)."""
    data_folder("imm_face_db")
    from sklearn_fkd.datasets import load_imm_faces

    return load_imm_faces(as_gray=True)


@pytest.fixture(scope="session")
def small_imm(imm):
    """IMM faces at 40x30 (width x height), keypoints in that frame, and persons."""
    from sklearn_fkd._imaging import resize_image, scale_keypoints

    X = np.stack([resize_image(im, (40, 30)) for im in imm.images])
    return X, scale_keypoints(imm.keypoints, 40 / 640, 30 / 480), imm.groups


@pytest.fixture(scope="session")
def youtube_test():
    """The 770 YouTube Faces test frames (Wolf et al. 2011)."""
    data_folder("youtube_faces_68pt")
    from sklearn_fkd.datasets import load_youtube_faces

    return load_youtube_faces("test")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
