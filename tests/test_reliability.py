"""Bad inputs and interruptions that used to go wrong silently or with a traceback; each
test fails without its fix (docs/validation.rst lists them)."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from sklearn_fkd import make_keypoint_pipeline
from sklearn_fkd.cli import main
from sklearn_fkd.datasets import read_image, read_keypoints_csv
from sklearn_fkd.persistence import model_info
from sklearn_fkd.preprocessing import FaceCrop, Grayscale, Resize

from .conftest import data_folder
from .conftest import run_cli as run
from .conftest import tiny_cnn as tiny

# -- silent wrong results ---------------------------------------------------------------


def test_training_on_keypoints_of_the_originals_fails_in_the_cli(tmp_path, capsys):
    folder = tmp_path / "faces"
    folder.mkdir()
    rows = []
    for i in range(6):
        Image.fromarray(np.full((32, 32), 40 * i, np.uint8)).save(folder / f"{i}.png")
        rows.append(
            ",".join([f"{i}.png"] + [f"{v:.1f}" for v in (300.0 + i, 400.0, 500.0, 420.0)])
        )
    csv = folder / "points.csv"
    csv.write_text("name,x0,y0,x1,y1\n" + "\n".join(rows) + "\n")
    code, _, err = run(
        capsys, "train", "--data", csv, "--no-face-crop", "--size", 16, "--epochs", 1,
        "--output", tmp_path / "m.fkd",
    )  # fmt: skip
    errors = [line for line in err.splitlines() if line.startswith("sklearn-fkd train: error")]
    assert code == 1 and len(errors) == 1 and "lies outside" in errors[0]
    assert not (tmp_path / "m.fkd").exists()


@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.int32])
def test_integer_images_go_through_a_pipeline_like_uint8(small_imm, dtype):
    X, y, _ = small_imm
    pipe = make_keypoint_pipeline(Grayscale(), Resize((24, 32)), tiny()).fit(X[:16], y[:16])
    expected = pipe.predict(X[16:24])
    np.testing.assert_array_equal(pipe.predict(X[16:24].astype(dtype)), expected)
    bad = X[16:24].astype(np.int16)
    bad[0, 0, 0] = -5
    with pytest.raises(ValueError, match=r"integer X must lie in 0\.\.255, found -5\.\."):
        pipe.predict(bad)


@pytest.mark.parametrize(
    "row, message",
    [("b.jpg,1,2,99.009351", "line 3: 4 fields where the header has 3"),
     ("b.jpg,1", "line 3: 2 fields where the header has 3")],
)  # fmt: skip
def test_a_csv_row_of_the_wrong_length_names_its_line(tmp_path, row, message):
    path = tmp_path / "k.csv"
    path.write_text(f"name,x0,y0\na.jpg,1,2\n{row}\n")
    with pytest.raises(ValueError, match=message):
        read_keypoints_csv(path)


# -- one-line errors instead of crashes -------------------------------------------------


def test_bad_boxes_are_refused_with_what_is_wrong(small_imm):
    X, y, _ = small_imm
    pipe = make_keypoint_pipeline(FaceCrop(detector=None), Resize(16), tiny()).fit(X[:8], y[:8])
    inf = np.array([[0, 0, np.inf, 20.0]] * 2)
    with pytest.raises(ValueError, match="boxes contain infinite values"):
        pipe.predict(X[:2], boxes=inf)
    far = np.array([[1e6, 1e6, 1e6 + 10, 1e6 + 10]] * 2)
    with pytest.raises(ValueError, match=r"boxes\[0\] .* lies outside image 0 \(40x30 pixels\)"):
        pipe.predict(X[:2], boxes=far)


def test_a_thin_image_goes_through_the_detector_and_a_pipeline(small_imm):
    X, y, _ = small_imm
    pipe = make_keypoint_pipeline(FaceCrop(), Resize(16), tiny()).fit(X[:8], y[:8])
    with pytest.warns(UserWarning, match="no face found in 1 of 1 images"):
        pred = pipe.predict([np.zeros((1, 1000), np.uint8)])
    assert pred.shape == (1, 116) and np.isfinite(pred).all()


def test_a_decompression_bomb_is_refused_by_name(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("1", (20000, 20000)).save(path)  # 400 M pixels, a few kB on disk
    with pytest.raises(ValueError, match=r"huge\.png: it has more pixels than PIL's limit"):
        read_image(path)


# -- the command line checks its options and outputs before the work ---------------------


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    data_folder("imm_face_db")
    path = tmp_path_factory.mktemp("m") / "imm.fkd"
    argv = ["train", "--data", "imm:1-4", "--size", "30x40", "--epochs", "1", "--no-face-crop"]
    assert main([*argv, "--output", str(path)]) == 0
    return path


@pytest.mark.parametrize(
    "extra, message",
    [(["--batch-size", "0"], "--batch-size: expected a positive integer, got 0"),
     (["--device", "tpu"], "error: device must be"),
     (["--epochs", "-2"], "--epochs: expected a positive integer")],
)  # fmt: skip
def test_cli_bad_options_are_one_line_before_loading_data(capsys, tmp_path, extra, message):
    start = time.perf_counter()
    code, _, err = run(capsys, "train", "--data", "imm", "--output", tmp_path / "m.fkd", *extra)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1
    assert time.perf_counter() - start < 5  # refused before reading 240 photos


def test_cli_outputs_are_checked_before_the_work(saved_model, tmp_path, capsys):
    taken = tmp_path / "taken.txt"
    taken.write_text("x")
    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(image)
    code, _, err = run(capsys, "predict", saved_model, image, "--output", taken)
    assert code == 1 and "is a file; give a folder" in err and len(err.strip().splitlines()) == 1
    folder = tmp_path / "folder"
    folder.mkdir()
    code, _, err = run(capsys, "train", "--data", "imm:1-4", "--output", folder)
    assert code == 1 and "is a folder; give a file name" in err
    code, _, err = run(capsys, "train", "--data", "imm:1-4", "--output", saved_model)
    assert code == 1 and "exists; pass --force" in err
    assert model_info(saved_model)["metadata"]["epochs"] == 1  # untouched


def test_predict_never_overwrites_one_image_with_another(saved_model, tmp_path, capsys):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        Image.fromarray(np.zeros((30, 40), np.uint8)).save(tmp_path / folder / "face.png")
    out = tmp_path / "out"
    code, _, _ = run(
        capsys, "predict", tmp_path / "a" / "face.png", tmp_path / "b" / "face.png",
        "--model", saved_model, "--output", out,
    )  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.glob("*.png")) == [
        "a_face_keypoints.png",
        "b_face_keypoints.png",
    ]


def test_ctrl_c_during_cli_training_keeps_the_completed_epochs(tmp_path):
    """A real SIGINT: the model of the completed epochs is written (the output did not
    exist), its metadata says how many, the exit code is 130."""
    data_folder("imm_face_db")
    out = tmp_path / "m.fkd"
    argv = ["train", "--data", "imm:1-8", "--size", "30x40", "--epochs", "400", "--no-face-crop"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sklearn_fkd", *argv, "--output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy(),
    )  # fmt: skip
    seen = b""
    deadline = time.monotonic() + 240
    while b" 3/400" not in seen and time.monotonic() < deadline:
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
    assert b" 3/400" in seen, seen.decode(errors="replace")[-500:]
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=120)
    err = (seen + rest).decode(errors="replace")
    assert proc.returncode == 130, err[-800:]
    assert "interrupted after" in err and "written to" in err
    meta = model_info(out)["metadata"]
    assert 3 <= meta["epochs"] < 400 and meta["interrupted"] is True
    assert meta["epochs_asked"] == 400 and np.isfinite(meta["final_train_loss"])


# -- skorch habits ---------------------------------------------------------------------------
