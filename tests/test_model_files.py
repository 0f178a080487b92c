"""Hostile and careless model files (security round three): every crafted file is
refused by name before anything runs, reads a path or allocates much; writing is
atomic and never follows a planted link."""

import hashlib
import json
import os
import threading
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import load, save

from sklearn_fkd import FaceKeypointRegressor, make_keypoint_pipeline
from sklearn_fkd.cli import main
from sklearn_fkd.estimators import KeypointNet
from sklearn_fkd.persistence import archive, load_model, model_info, save_model
from sklearn_fkd.persistence.tree import FITTED_ATTRIBUTES, allowed_classes, fitted_attributes
from sklearn_fkd.preprocessing import FaceCrop, Resize


@pytest.fixture(scope="module")
def fitted(small_imm):
    X, y, _ = small_imm
    pipe = make_keypoint_pipeline(
        FaceCrop(detector=None),
        Resize(24),
        FaceKeypointRegressor(channels=(4, 8), max_epochs=1, random_state=0),
    )
    return pipe.fit(X[:24], y[:24]), X[30:34]


@pytest.fixture
def saved(fitted, tmp_path):
    return save_model(fitted[0], tmp_path / "m.fkd")


def craft(path, change_json=None, change_weights=None):
    """Rewrite a model file with its JSON and/or weights changed, the checksum
    recomputed (as an attacker would: the checksum is not a signature)."""
    with zipfile.ZipFile(path) as zf:
        document = json.loads(zf.read("model.json"))
        weights = load(zf.read("weights.safetensors"))
    if change_json:
        change_json(document)
    if change_weights:
        change_weights(weights)
    blob = save(weights)
    document["weights_sha256"] = hashlib.sha256(blob).hexdigest()
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("model.json", json.dumps(document))
        zf.writestr("weights.safetensors", blob)
    return path


def array(values, dtype="float64", shape=None):
    """A JSON array node as the format writes one."""
    return {"ndarray": values, "dtype": dtype, "shape": [len(values)] if shape is None else shape}


def spec(name, **params):
    """A JSON network spec node."""
    values = {k: {"tuple": v} if isinstance(v, list) else v for k, v in params.items()}
    return {"tuple": [name, {"dict": values}]}


def set_fitted(**values):
    return lambda document: estimator_node(document)["fitted"].update(values)


def estimator_node(document):
    return document["model"]["steps"][-1][1]


def refused(path, match):
    with pytest.raises(ValueError, match=match) as info:
        load_model(path)
    assert "\n" not in str(info.value)
    return info


# -- 1. only the parameters and fitted attributes the class produces ----------------------


@pytest.mark.parametrize(
    ("where", "key", "value", "match"),
    [
        ("params", "compile__options", {"dict": {"cpp.cxx": "touch /tmp/x"}}, "compile__options"),
        ("params", "compile", "yes", "compile"),
        ("params", "callbacks__print_log__sink", None, "callbacks__print_log__sink"),
        ("params", "torch_load_kwargs", {"dict": {"weights_only": False}}, "torch_load_kwargs"),
        ("params", "not_a_parameter", 1, "not_a_parameter"),
        ("fitted", "__class__", "os.system", "__class__"),
        ("fitted", "compile", True, "'compile'"),
        (
            "fitted",
            "input_std_",
            {"ndarray": [None], "dtype": "float32", "shape": [1]},
            "input_std_",
        ),
        ("fitted", "prediction_offset_", {"tuple": [1e308, 0]}, "prediction_offset_"),
    ],
)
def test_only_known_parameters_and_fitted_attributes_load(saved, where, key, value, match):
    def evil(document):
        estimator_node(document)[where][key] = value

    refused(craft(saved, evil), match)


@pytest.mark.parametrize(
    ("step", "key", "value", "match"),
    [
        (1, "size", 10**6, "at most 8192"),
        (None, "refine", 10**6, "at most 8"),
        (None, "test_scales", {"tuple": [1e5]}, "at most 4"),
        (0, "jitter", "wild", "jitter"),
        (-1, "lr", 1e300, "at most 1e"),
    ],
)
def test_parameters_a_prediction_costs_by_are_bounded(saved, step, key, value, match):
    def evil(document):  # a step's parameter, or (step None) the pipeline's
        node = document["model"] if step is None else document["model"]["steps"][step][1]
        node["params"][key] = value

    refused(craft(saved, evil), match)


def test_nan_and_infinity_in_the_json_are_refused(saved):
    with zipfile.ZipFile(saved) as zf:
        text = zf.read("model.json").decode()
        blob = zf.read("weights.safetensors")
    text = text.replace('"lr": 0.001', '"lr": NaN')
    assert "NaN" in text
    with zipfile.ZipFile(saved, "w") as zf:
        zf.writestr("model.json", text)
        zf.writestr("weights.safetensors", blob)
    refused(saved, "NaN is not a number a model file holds")


def test_a_compile_option_in_a_file_never_runs_at_fit(saved, small_imm, tmp_path):
    """The reported attack: compile=True with a shell command as a compiler option,
    run by a later fit. Refused at load; nothing runs."""
    marker = tmp_path / "ran"

    def evil(document):
        params = estimator_node(document)["params"]
        params["compile"] = True
        params["compile__options"] = {"dict": {"cpp.cxx": f"touch {marker}"}}

    refused(craft(saved, evil), "compile__options")
    assert not marker.exists()


def test_every_class_declares_the_fitted_attributes_it_produces(fitted):
    """The allow-list is the code's: what fit sets on a step is what a file may hold."""
    pipe, _ = fitted
    for _, step in pipe.steps:
        produced = {k for k in vars(step) if k.endswith("_") and not k.startswith("_")}
        if isinstance(step, KeypointNet):
            assert set(fitted_attributes(type(step))) <= produced
        else:
            assert produced == set(fitted_attributes(type(step))), type(step).__name__
    named = {cls.__name__ for cls in allowed_classes().values()} | {"KeypointNet"}
    assert set(FITTED_ATTRIBUTES) <= named


# -- 2. fitted numbers come from the weights, checked ---------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("fit_state.input_std", [float("nan")], "not finite"),
        ("fit_state.input_std", [0.0], "input mean"),
        ("fit_state.prediction_offset", [1e308, 0.0], "prediction offset"),
        ("fit_state.image_size", [24.0, 1e9], "image size"),
        ("fit_state.mean_shape", None, "mean shape"),
    ],
)
def test_fit_state_numbers_are_checked(saved, key, value, match):
    def evil(weights):
        name = next(k for k in weights if k.endswith(key))
        tensor = weights[name]
        weights[name] = (
            tensor * 1e300 if value is None else torch.tensor(value, dtype=tensor.dtype)
        )

    refused(craft(saved, change_weights=evil), match)


def test_non_finite_weights_are_refused(saved):
    def evil(weights):
        name = next(k for k in weights if k.endswith("weight") and "fit_state" not in k)
        weights[name] = weights[name].clone().fill_(float("nan"))

    refused(craft(saved, change_weights=evil), "not finite")


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("detector_calibration_", array([0, 0, None, 1]), "finite"),
        ("detector_calibration_", array([1e308, 0, 1, 1]), "finite"),
        ("detector_calibration_", array([0, 0, -1, 1]), "positive"),
        ("detector_", "/etc/passwd", "detector_"),
        ("detector_hit_rate_", 7.0, "hit_rate"),
    ],
)  # fmt: skip
def test_a_face_crops_fitted_numbers_are_checked(saved, key, value, match):
    def evil(document):
        document["model"]["steps"][0][1]["fitted"][key] = value

    refused(craft(saved, evil), match)


def test_the_json_cannot_override_the_weights(fitted, saved):
    """A fitted number in the JSON is refused by name, so the weights' fit state is the
    one source; the saved file holds none."""
    with zipfile.ZipFile(saved) as zf:
        node = estimator_node(json.loads(zf.read("model.json")))
    assert set(node["fitted"]) == {"schema_", "network_spec_"}
    X = fitted[1]
    boxes = np.tile([0.0, 0.0, X.shape[2], X.shape[1]], (len(X), 1))
    expected = fitted[0].predict(X, boxes=boxes)
    np.testing.assert_array_equal(load_model(saved).predict(X, boxes=boxes), expected)


# -- 3. resource limits, before reading or allocating --------------------------------------


def test_a_huge_model_json_is_refused_before_reading(saved, tmp_path):
    import tracemalloc

    big = tmp_path / "big.fkd"
    with zipfile.ZipFile(big, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model.json", b" " * (archive.MAX_JSON_BYTES + 1))
        zf.writestr("weights.safetensors", b"")
    tracemalloc.start()
    for read in (load_model, model_info):
        with pytest.raises(ValueError, match=r"model\.json declares .* over the limit"):
            read(big)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < archive.MAX_JSON_BYTES // 4


def test_a_weights_member_over_the_limit_is_refused(saved, monkeypatch):
    monkeypatch.setattr(archive, "MAX_WEIGHTS_BYTES", 1000)
    refused(saved, r"weights\.safetensors declares .* over the limit")


def test_a_member_larger_than_it_declares_is_not_read_past_it(saved, tmp_path):
    """A zip whose header understates a member (a zip bomb) fails, reading no more
    than the declared bytes."""
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as zf:
        info = zf.getinfo("model.json")
    real = info.file_size.to_bytes(4, "little")
    small = (100).to_bytes(4, "little")
    data = data.replace(real, small)  # local header and central directory
    lying = tmp_path / "lying.fkd"
    lying.write_bytes(bytes(data))
    refused(lying, "model.json")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (set_fitted(network_spec_=spec("cnn", channels=[8000, 8000])), "at most 4096"),
        (set_fitted(network_spec_=spec("cnn", channels=[16, 32])), "do not fit the network"),
        (set_fitted(network_spec_=spec("evil")), "names the network 'evil'"),
        (set_fitted(network_spec_=None), "network_spec_ must be a pair"),
        (set_fitted(schema_=[array([], "<U25000000", [10])] * 10), "dtype"),
        (set_fitted(schema_=array([0] * 3, shape=[10**7])), "shape"),
    ],
    ids=["channels-8000", "bigger-than-stored", "unknown-net", "no-spec", "unicode", "huge"],
)  # fmt: skip
def test_network_specs_and_arrays_are_checked_before_allocating(saved, change, match):
    refused(craft(saved, change), match)


def test_json_nested_too_deeply_is_one_line(saved, tmp_path):
    deep = tmp_path / "deep.fkd"
    with zipfile.ZipFile(saved) as zf:
        document = json.loads(zf.read("model.json"))
    document["metadata"] = {"x": "NESTED"}
    text = json.dumps(document).replace('"NESTED"', "[" * 5000 + "]" * 5000)
    with zipfile.ZipFile(deep, "w") as zf:
        zf.writestr("model.json", text)
        zf.writestr("weights.safetensors", b"")
    for read in (load_model, model_info):
        with pytest.raises(ValueError, match="nest"):
            read(deep)


# -- 4. no paths inside a model file -------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_spec_naming_a_fifo_is_refused_without_opening_it(saved, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def evil(document):
        estimator_node(document)["fitted"]["network_spec_"] = spec("resnet18", weights=str(fifo))

    result = {}
    worker = threading.Thread(target=lambda: result.update(r=_outcome(craft(saved, evil))))
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "load_model hung on a FIFO"
    assert "names the file" in result["r"]


def _outcome(path):
    try:
        load_model(path)
    except ValueError as exc:
        return str(exc)
    return "loaded"


@pytest.mark.parametrize("name", ["itself", "pickle", "absolute"])
def test_estimator_weights_naming_a_file_are_refused(saved, tmp_path, name):
    target = {"itself": str(saved), "pickle": str(tmp_path / "x.pkl"), "absolute": "/etc/passwd"}

    def evil(document):
        estimator_node(document)["params"]["weights"] = target[name]

    refused(craft(saved, evil), "names no file")


def test_a_model_fine_tuned_from_a_file_saves_without_the_path(fitted, small_imm, tmp_path):
    X, y, _ = small_imm
    source = save_model(fitted[0][-1], tmp_path / "source.fkd")
    est = FaceKeypointRegressor(channels=(4, 8), max_epochs=1, weights=source, random_state=0)
    Xr, yr = Resize(24).fit_transform(X[:8]), Resize(24).transform_keypoints(X[:8], y[:8])
    est.fit(Xr, yr)
    path = save_model(est, tmp_path / "tuned.fkd")
    with zipfile.ZipFile(path) as zf:
        node = json.loads(zf.read("model.json"))["model"]
    assert node["params"]["weights"] is None
    assert node["training_only"]["weights"] == str(source)
    np.testing.assert_array_equal(load_model(path).predict(Xr), est.predict(Xr))


# -- 5. wrong types and missing keys: one line, also through the CLI ----------------------


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.update(format_version="1"), "format_version must be a whole number"),
        (lambda d: d.pop("model"), "must hold the model as an object, not nothing"),
        (lambda d: d.update(model=[]), "not list"),
        (lambda d: d["model"].update(steps=[[1, 2]]), "steps must be a list"),
        (lambda d: d["model"]["steps"][0].__setitem__(1, "x"), "must be an object"),
        (lambda d: estimator_node(d).update(params=[]), "parameters .* must be an object"),
        (lambda d: estimator_node(d).update(history={"a": 1}), "history"),
    ],
    ids=["version-str", "no-model", "model-list", "steps", "step-str", "params-list", "history"],
)  # fmt: skip
def test_malformed_documents_are_one_line_errors(saved, tmp_path, capsys, change, match):
    path = craft(saved, change)
    refused(path, match)
    argv = ["predict", str(tmp_path / "none.png"), "--model", str(path), "--output", str(tmp_path)]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1


# -- 6. writing ----------------------------------------------------------------------------


def test_save_never_writes_through_a_planted_link(fitted, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "m.fkd"
    for name in (out.name + ".partial", "." + out.name + ".partial"):
        (tmp_path / name).symlink_to(victim)
    save_model(fitted[0], out)
    assert victim.read_text() == "precious"
    assert not out.is_symlink() and zipfile.is_zipfile(out)
    link = tmp_path / "link.fkd"  # the target itself a link: replaced, not followed
    link.symlink_to(victim)
    save_model(fitted[0], link)
    assert victim.read_text() == "precious" and not link.is_symlink()


def test_concurrent_writers_never_show_a_half_written_file(fitted, tmp_path):
    path = save_model(fitted[0], tmp_path / "m.fkd")
    stop, failures = threading.Event(), []

    def write():
        while not stop.is_set():
            save_model(fitted[0], path)

    def read():
        for _ in range(30):
            try:
                model_info(path)
                zipfile.ZipFile(path).testzip()
            except Exception as exc:
                failures.append(exc)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for w in writers:
        w.start()
    try:
        read()
    finally:
        stop.set()
        for w in writers:
            w.join()
    assert not failures, failures[:2]
    assert not list(tmp_path.glob("*.partial"))


# -- 11. weights= decided by what the file is ---------------------------------------------
