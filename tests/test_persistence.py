"""Model files: the safe format (JSON + safetensors) round-trips every estimator and a
full pipeline; pickles are refused unless trusted, without running them; skorch's
weights-only paths."""

import json
import pickle
import subprocess
import sys
import warnings
import zipfile

import joblib
import numpy as np
import pytest

import sklearn_fkd.persistence.files
from sklearn_fkd import (
    Augment,
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    NoseRegressor,
    make_keypoint_pipeline,
)
from sklearn_fkd.cli import main
from sklearn_fkd.persistence import (
    ModelVersionWarning,
    UntrustedModelError,
    load_model,
    model_info,
    save_model,
)
from sklearn_fkd.preprocessing import FaceCrop, Grayscale, Resize

from .conftest import data_folder


@pytest.fixture(scope="module")
def fitted(small_imm):
    X, y, _ = small_imm
    return FaceKeypointRegressor(max_epochs=1, random_state=0).fit(X[:40], y[:40]), X[40:50]


ESTIMATORS = {
    "nose": lambda: NoseRegressor(channels=(8, 16), max_epochs=1, random_state=0),
    "cnn-fc": lambda: FaceKeypointRegressor(
        head="fc", channels=(8, 16), max_epochs=1, random_state=0, augment=Augment(rotation=5)
    ),
    "resnet18": lambda: FaceKeypointRegressor(backbone="resnet18", max_epochs=1, random_state=0),
    "unet": lambda: HeatmapKeypointEstimator(
        depth=2, base_channels=4, max_epochs=1, random_state=0
    ),
    "fpn": lambda: HeatmapKeypointEstimator(
        backbone="fpn", widths=(8, 16), max_epochs=1, random_state=0, test_flip=True
    ),
}


@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_every_estimator_round_trips_to_identical_predictions(kind, small_imm, tmp_path):
    X, y, _ = small_imm
    est = ESTIMATORS[kind]().fit(X[:32], y[:32])
    path = save_model(est, tmp_path / "m.fkd", metadata={"data": "imm"})
    assert zipfile.is_zipfile(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same version: no warning
        loaded = load_model(path)
    assert type(loaded) is type(est) and loaded is not est
    np.testing.assert_array_equal(loaded.predict(X[32:40]), est.predict(X[32:40]))
    assert loaded.get_params()["max_epochs"] == 1 and loaded.schema_ == est.schema_
    assert loaded.history[:, "train_loss"] == est.history[:, "train_loss"]


FRESH_PROCESS = """
import sys, numpy as np
from sklearn_fkd.persistence import load_model
model = load_model(sys.argv[1])
X = np.load(sys.argv[2], allow_pickle=False)
np.save(sys.argv[3], model.predict(list(X)))
"""


def test_a_full_pipeline_round_trips_in_a_fresh_process(tmp_path):
    """FaceCrop with its detector calibration, Grayscale, Resize, estimator: identical
    predictions on full photos in a process that has no data home."""
    from sklearn_fkd.datasets import load_helen_afw

    data_folder("helen_afw_68pt")
    afw = load_helen_afw("afw")
    images = [np.asarray(im) for im in afw.images[:40]]
    pipe = make_keypoint_pipeline(
        FaceCrop(), Grayscale(), Resize(32), FaceKeypointRegressor(max_epochs=1, random_state=0)
    ).fit(images, afw.keypoints[:40])
    assert pipe.steps[0][1].detector_calibration_ is not None
    path = save_model(pipe, tmp_path / "pipe.fkd")
    probe = np.stack([im[:100, :100] for im in images[:4]])  # same-size photos
    np.save(tmp_path / "X.npy", probe)
    env = {"PATH": "/usr/bin:/bin", "SKLEARN_FKD_DATA": str(tmp_path / "no-data")}
    argv = [str(path), str(tmp_path / "X.npy"), str(tmp_path / "p.npy")]
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no face found" on some crops
        expected = pipe.predict(list(probe))
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), expected)
    info = model_info(path)
    assert info["classes"][:2] == [
        "sklearn_fkd.pipeline.KeypointPipeline",
        "sklearn_fkd.preprocessing.FaceCrop",
    ]


def test_provenance_and_atomic_write(fitted, tmp_path):
    est, _ = fitted
    path = save_model(est, tmp_path / "sub" / "m.fkd", metadata={"data": "imm"})
    info = model_info(path)
    assert info["sklearn_fkd"] == sklearn_fkd.__version__
    assert info["metadata"] == {"data": "imm"} and info["created"].startswith("20")
    assert not list(path.parent.glob("*.partial"))


def test_a_model_from_another_version_warns(fitted, tmp_path, monkeypatch):
    path = save_model(fitted[0], tmp_path / "m.fkd")
    monkeypatch.setattr(sklearn_fkd.persistence.files, "__version__", "9.9.9")
    with pytest.warns(ModelVersionWarning, match=r"saved by sklearn-fkd .*this is 9\.9\.9"):
        load_model(path)


class Payload:
    """Unpickling this creates a marker file: what a malicious model file would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture
def crafted(tmp_path):
    """Three crafted files whose unpickling would create ``marker``."""
    marker = tmp_path / "pwned"
    files = {
        "bare-joblib": tmp_path / "a.joblib",
        "plain-pickle": tmp_path / "b.pkl",
        "fake-envelope": tmp_path / "c.fkd",
    }
    joblib.dump(Payload(marker), files["bare-joblib"])
    files["plain-pickle"].write_bytes(pickle.dumps(Payload(marker)))
    envelope = {"format": "sklearn-fkd model", "model": Payload(marker)}
    files["fake-envelope"].write_bytes(pickle.dumps(envelope))
    return marker, files


def test_a_crafted_pickle_is_refused_without_running(crafted):
    marker, files = crafted
    for path in files.values():
        with pytest.raises(UntrustedModelError, match="not a sklearn-fkd model file"):
            load_model(path)
        with pytest.raises(UntrustedModelError, match="trusted=True"):
            model_info(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["predict", "{image}", "--model", "{model}", "--output", "{out}"],
        ["evaluate", "{model}", "--data", "afw"],
        ["submit", "{model}", "--test", "t.csv", "--lookup", "l.csv"],
    ],
)
def test_every_cli_command_refuses_a_crafted_pickle(crafted, tmp_path, capsys, command):
    marker, files = crafted
    image = tmp_path / "x.png"
    from PIL import Image

    Image.fromarray(np.zeros((20, 20), np.uint8)).save(image)
    for path in files.values():
        argv = [a.format(model=path, image=image, out=tmp_path / "o") for a in command]
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "--trust-pickle" in err and len(err.strip().splitlines()) == 1
    assert not marker.exists()


def test_a_trusted_pickle_still_loads(fitted, tmp_path):
    est, X = fitted
    path = save_model(est, tmp_path / "m.joblib", format="pickle")
    with pytest.raises(UntrustedModelError):
        load_model(path)
    np.testing.assert_array_equal(load_model(path, trusted=True).predict(X), est.predict(X))
    assert model_info(path, trusted=True)["classes"] == ["FaceKeypointRegressor"]


def rewrite(path, change_json=None, weights=None):
    """Rewrite a model file with its JSON changed by ``change_json`` or other weights."""
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("model.json"))
        blob = archive.read("weights.safetensors")
    if change_json:
        change_json(document)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model.json", json.dumps(document))
        archive.writestr("weights.safetensors", blob if weights is None else weights)


def test_a_file_naming_an_unknown_class_is_refused_by_name(fitted, tmp_path):
    path = save_model(fitted[0], tmp_path / "m.fkd")

    def evil(document):
        document["model"]["class"] = "os.system"

    rewrite(path, evil)
    with pytest.raises(ValueError, match=r"names the class 'os\.system'"):
        load_model(path)

    def evil_optimizer(document):
        document["model"]["params"]["optimizer"] = {"type": "subprocess.Popen"}

    path = save_model(fitted[0], tmp_path / "m2.fkd")
    rewrite(path, evil_optimizer)
    with pytest.raises(ValueError, match=r"'subprocess\.Popen'"):
        load_model(path)


def test_truncated_and_tampered_files_give_one_line_errors(fitted, tmp_path):
    path = save_model(fitted[0], tmp_path / "m.fkd")
    data = path.read_bytes()
    truncated = tmp_path / "t.fkd"
    truncated.write_bytes(data[: len(data) // 2])
    tampered = tmp_path / "w.fkd"
    tampered.write_bytes(data)
    with zipfile.ZipFile(path) as archive:
        blob = bytearray(archive.read("weights.safetensors"))
    blob[-5] ^= 0xFF  # one weight changed
    rewrite(tampered, weights=bytes(blob))
    for bad, match in ((truncated, "t.fkd"), (tampered, "checksum")):
        with pytest.raises(ValueError, match=match) as info:
            load_model(bad)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "content",
    [b"not a pickle at all", pickle.dumps({"weights": [1, 2]}), b""],
    ids=["text", "other-pickle", "empty"],
)
def test_a_file_that_is_not_a_model_is_refused_by_name(tmp_path, content):
    path = tmp_path / "thing.joblib"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"thing\.joblib is not a sklearn-fkd model file"):
        load_model(path)
    with pytest.raises(ValueError, match=r"thing\.joblib is not a sklearn-fkd model file"):
        load_model(path, trusted=True)


def test_a_joblib_file_of_another_object_is_refused(tmp_path):
    path = tmp_path / "array.joblib"
    joblib.dump(np.zeros(3), path)
    with pytest.raises(ValueError, match="holds a ndarray"):
        load_model(path, trusted=True)


def test_missing_file_and_unsavable_model_leave_nothing_behind(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_model(tmp_path / "nope.fkd")
    with pytest.raises(TypeError, match="cannot be stored in the safe model format"):
        save_model(lambda x: x, tmp_path / "bad.fkd")
    with pytest.raises(TypeError, match="detector"):
        pipe = make_keypoint_pipeline(FaceCrop(detector=lambda im: None), Resize(8))
        save_model(pipe, tmp_path / "bad2.fkd")
    assert list(tmp_path.iterdir()) == []


def test_device_change_moves_the_fitted_network(fitted, tmp_path):
    est = load_model(save_model(fitted[0], tmp_path / "m.fkd"), device="cpu")
    before = fitted[0].predict(fitted[1])
    np.testing.assert_array_equal(est.predict(fitted[1]), before)
    assert est.device_ == "cpu"
    assert next(est.module_.parameters()).device.type == "cpu"
    copy = pickle.loads(pickle.dumps(fitted[0])).set_params(device="cpu")
    state = [v for s in copy.optimizer_.state.values() for v in s.values() if hasattr(v, "device")]
    assert state and all(v.device.type == "cpu" for v in state)


# -- skorch's weights-only paths -----------------------------------------------------------
