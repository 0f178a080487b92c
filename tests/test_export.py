"""ONNX export: onnxruntime gives the estimator's points on real faces."""

import numpy as np
import pytest

from sklearn_fkd import FaceKeypointRegressor, HeatmapKeypointEstimator, make_keypoint_pipeline
from sklearn_fkd.preprocessing import Grayscale, Resize

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from sklearn_fkd.export import export_onnx  # noqa: E402

MODELS = {
    "cnn": lambda: FaceKeypointRegressor(channels=(8, 16, 32), max_epochs=1, random_state=0),
    "fpn-flip": lambda: HeatmapKeypointEstimator(
        backbone="fpn", widths=(8, 16, 32), max_epochs=1, random_state=0, test_flip=True
    ),
    "unet-argmax": lambda: HeatmapKeypointEstimator(
        depth=2, base_channels=4, max_epochs=1, random_state=0, decode="argmax"
    ),
}


@pytest.mark.parametrize("kind", list(MODELS))
def test_onnxruntime_matches_pytorch_on_real_faces(kind, youtube_test, tmp_path):
    images = list(youtube_test.images[:80])
    pipe = make_keypoint_pipeline(Grayscale(), Resize(48), MODELS[kind]())
    pipe.fit(images[:48], youtube_test.keypoints[:48])
    path = export_onnx(pipe, tmp_path / "face.onnx")
    crops = pipe[:-1].transform(images[48:])  # the geometric steps stay in Python
    session = ort.InferenceSession(str(path))
    points = session.run(None, {"pixels": crops[..., None]})[0]
    assert points.shape == (32, 68, 2)
    expected = pipe[-1].set_params(backend="torch").predict(crops)
    assert np.abs(pipe[-1].prediction_offset_).max() > 1e-3  # the graph must subtract it
    np.testing.assert_allclose(points.reshape(32, -1), expected, atol=1e-3)


def test_export_names_what_it_needs(tmp_path):
    with pytest.raises(ValueError, match="fitted keypoint estimator"):
        export_onnx(FaceKeypointRegressor(), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="input_dtype"):
        export_onnx(FaceKeypointRegressor(), tmp_path / "x.onnx", input_dtype="int4")


def test_a_missing_extra_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setitem(__import__("sys").modules, "onnxscript", None)
    with pytest.raises(ImportError, match=r'pip install "sklearn-fkd\[onnx\]"'):
        export_onnx(FaceKeypointRegressor(), tmp_path / "x.onnx")
