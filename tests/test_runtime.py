"""The inference backend: onnxruntime gives PyTorch's points, once exported per weights."""

import sys

import numpy as np
import pytest

from sklearn_fkd import KAGGLE15, FaceKeypointRegressor, HeatmapKeypointEstimator
from sklearn_fkd.estimators import runtime
from sklearn_fkd.persistence import load_model, save_model

pytest.importorskip("onnxruntime")

MODELS = {
    "fpn-flip": lambda **kw: HeatmapKeypointEstimator(
        backbone="fpn", widths=(8, 16, 32), test_flip=True, schema=KAGGLE15, **kw
    ),
    "unet": lambda **kw: HeatmapKeypointEstimator(depth=2, base_channels=4, **kw),
    "cnn": lambda **kw: FaceKeypointRegressor(channels=(8, 16, 32), **kw),
    "resnet18": lambda **kw: FaceKeypointRegressor(backbone="resnet18", **kw),
}


def faces(n=24, size=32, seed=0):
    """Noise images with points scattered in their middle (what is learnt is beside the
    point: the two backends must agree on whatever the network says)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
    points = rng.uniform(0.3 * size, 0.7 * size, (n, 2 * KAGGLE15.n_points))
    return images, points


@pytest.mark.parametrize("kind", list(MODELS))
def test_onnxruntime_gives_the_points_and_confidences_of_pytorch(kind):
    images, points = faces()
    est = MODELS[kind](max_epochs=1, random_state=0, backend="torch").fit(images, points)
    expected = est.predict(images)
    est.set_params(backend="onnxruntime")
    np.testing.assert_allclose(est.predict(images), expected, atol=1e-3)
    np.testing.assert_allclose(est.predict(images[:1]), expected[:1], atol=1e-3)  # batch 1
    if est.HAS_POINT_CONFIDENCE:
        _, conf_ort = est.predict(images, return_confidence=True)
        _, conf_torch = est.set_params(backend="torch").predict(images, return_confidence=True)
        np.testing.assert_allclose(conf_ort, conf_torch, atol=1e-4)


def test_the_session_is_built_once_per_weights(monkeypatch):
    images, points = faces()
    est = MODELS["fpn-flip"](max_epochs=1, random_state=0, backend="onnxruntime")
    est.fit(images, points)
    built = []
    real = runtime.OnnxNetwork

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(runtime, "OnnxNetwork", counting)
    first = est.predict(images)
    est.predict(images[:3])
    assert len(built) <= 1  # the fitted weights' session (it may predate the patch)
    before = len(built)
    est.partial_fit(images, points)  # new weights: a new session, and PyTorch's points
    trained = len(built)  # (the flip offset is measured at the end of fit)
    after = est.predict(images)
    est.predict(images[:3])
    assert trained > before and len(built) <= trained + 1
    assert np.abs(after - first).max() > 1e-6
    np.testing.assert_allclose(after, est.set_params(backend="torch").predict(images), atol=1e-3)


def test_backend_is_checked_and_a_missing_onnxruntime_is_named(monkeypatch):
    images, points = faces()
    with pytest.raises(ValueError, match="backend"):
        MODELS["cnn"](max_epochs=1, backend="tensorrt").fit(images, points)
    est = MODELS["cnn"](max_epochs=1, random_state=0, backend="torch").fit(images, points)
    with pytest.raises(ValueError, match="backend"):
        est.set_params(backend="tvm").predict(images)
    expected = est.set_params(backend="torch").predict(images)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    monkeypatch.setattr(runtime, "onnxruntime_installed", lambda: False)
    with pytest.raises(ImportError, match=r'pip install "sklearn-fkd\[onnx\]"'):
        est.set_params(backend="onnxruntime").predict(images)
    # "auto" falls back on PyTorch without it
    np.testing.assert_array_equal(est.set_params(backend="auto").predict(images), expected)


def test_the_exported_graph_is_cached_between_processes_and_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("SKLEARN_FKD_CACHE", str(tmp_path))
    images, points = faces()
    est = MODELS["fpn-flip"](max_epochs=1, random_state=0, backend="onnxruntime")
    est.fit(images, points)
    expected = est.predict(images)
    files = list(tmp_path.glob("*.onnx"))
    assert files  # written for the next process
    exports = []
    real = runtime._export
    monkeypatch.setattr(runtime, "_export", lambda *a: exports.append(1) or real(*a))
    again = load_model(save_model(est, tmp_path / "m.fkd"))  # the same weights, anew
    np.testing.assert_allclose(again.predict(images), expected, atol=1e-5)
    assert not exports  # read from the cache
    for file in tmp_path.glob("*.onnx"):  # damaged: exported again, same points
        file.write_bytes(b"not a graph")
    third = load_model(tmp_path / "m.fkd")
    np.testing.assert_allclose(third.predict(images), expected, atol=1e-5)
    assert exports
    other = MODELS["fpn-flip"](max_epochs=1, random_state=1, backend="onnxruntime")
    other.fit(images, points)  # another network's graph in this one's file is refused
    other.predict(images[:1])
    foreign = max(set(tmp_path.glob("*.onnx")) - set(files), key=lambda f: f.stat().st_mtime)
    for file in files:
        file.write_bytes(foreign.read_bytes())
    exported = len(exports)
    fresh = load_model(tmp_path / "m.fkd")
    np.testing.assert_allclose(fresh.predict(images), expected, atol=1e-5)
    assert len(exports) == exported + 1
