import subprocess
import sys

from sklearn_fkd.cli import main

from .conftest import data_folder


def test_demo_writes_figures_and_prints_the_table(tmp_path, capsys):
    data_folder("imm_face_db")
    assert main(["demo", "--output", str(tmp_path), "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "mean-shape baseline (imm58)" in out and "FaceKeypointRegressor (imm58)" in out
    for name in ("imm58_best_worst.png", "loss_curves.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def test_demo_without_data_says_where_to_put_it(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path), "--data-home", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "imm_face_db" in err and "SKLEARN_FKD_DATA" in err and len(err.splitlines()) == 1


def test_module_entry_point_help():
    out = subprocess.run(
        [sys.executable, "-m", "sklearn_fkd", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "demo" in out
