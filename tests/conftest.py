"""Shared fixtures: the real data sets, skipped cleanly when absent."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

# The test setup, not the library, knows where this project keeps its data: the shared
# folder beside the checkout, unless SKLEARN_FKD_DATA points elsewhere.
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if "SKLEARN_FKD_DATA" not in os.environ and _SHARED.is_dir():
    os.environ["SKLEARN_FKD_DATA"] = str(_SHARED)

# exported inference graphs and the saved dlib detector go to a folder of this run,
# not the user's cache
os.environ.setdefault("SKLEARN_FKD_CACHE", tempfile.mkdtemp(prefix="sklearn-fkd-graphs-"))

from sklearn_fkd.datasets import get_data_home  # noqa: E402


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
    from sklearn_fkd.preprocessing import Resize

    resize = Resize((30, 40))
    return (
        resize.transform(imm.images),
        resize.transform_keypoints(imm.images, imm.keypoints),
        imm.groups,
    )


@pytest.fixture(scope="session")
def youtube_test():
    """The 770 YouTube Faces test frames (Wolf et al. 2011)."""
    data_folder("youtube_faces_68pt")
    from sklearn_fkd.datasets import load_youtube_faces

    return load_youtube_faces("test")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """The command line's exit code, stdout and stderr for ``argv``."""
    from sklearn_fkd.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def tiny_cnn(**kw):
    """A FaceKeypointRegressor small enough to fit in a second (one epoch)."""
    from sklearn_fkd import FaceKeypointRegressor

    return FaceKeypointRegressor(**{"channels": (4, 8), "max_epochs": 1, "random_state": 0, **kw})
