"""The benchmarks' own logic that decides what a result means."""

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def import_benchmark(name: str):
    """A benchmark script as a module (the scripts import each other and ``_common``)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture
def bench_68():
    return import_benchmark("bench_68")


def test_the_data_levers_rewrite_the_training_mix(bench_68):
    base = "youtube:train+3*helen+3*lfpw"
    assert bench_68.lever_data(base, {}) == base
    assert bench_68.lever_data(base, {"without": ["lfpw"]}) == "youtube:train+3*helen"
    once = {"repeats": {"helen": 1, "lfpw": 1}}
    assert bench_68.lever_data(base, once) == "youtube:train+helen+lfpw"
    twice = bench_68.ABLATION["wild-x2"][1]
    assert twice["same_compute"]
    assert bench_68.lever_data("youtube:train+helen+lfpw", twice) == (
        "youtube:train+2*helen+2*lfpw"
    )
    # the recipe's own mix is what the benchmark trains on
    assert bench_68.lever_data(bench_68.TRAIN, bench_68.ABLATION["wild-x3"][1]) == bench_68.TRAIN


def test_same_compute_levers_see_the_recipes_images_and_pixels(bench_68):
    epochs_of = bench_68.epochs_of_lever
    assert epochs_of(12, 5137, 8487, {}) == 12  # other levers: the same epochs
    assert epochs_of(12, 5137, 8487, bench_68.ABLATION["wild-x3"][1]) == 7
    # the recipe is 160x160: 12 * (160 / 128) ** 2 = 18.75 epochs at 128x128
    assert epochs_of(12, 5137, 5137, bench_68.ABLATION["128px"][1]) == 19
    assert epochs_of(1, 100, 10_000, {"same_compute": True}) == 1  # never zero


def test_prediction_levers_set_the_recipes_pipeline_parameters(bench_68):
    """Each prediction-only lever names a parameter of the recipe's pipeline, and the
    recipe's own values of them are what a model file is predicted with."""
    settings = bench_68.recipe_predict_settings()
    assert settings == {
        "test_scales": (0.85, 1.0, 1.15),
        "heatmapkeypointestimator__test_flip": True,
        "heatmapkeypointestimator__correct_flip_offset": True,
    }
    for lever in ("no-flip", "one-scale", "no-offset"):
        (key, value), *_ = bench_68.ABLATION[lever][1]["predict"].items()
        assert key in settings and value != settings[key]


@pytest.fixture
def bench_68_gpu():
    return import_benchmark("bench_68_gpu")


def test_gpu_levers_change_only_what_they_name(bench_68_gpu):
    from sklearn.base import clone

    from sklearn_fkd.recipes import RECIPES

    scatter = [0.1, 0.05, 0.08]
    recipe = RECIPES["ibug68"]
    for name, (_, changes, _) in bench_68_gpu.GPU_LEVERS.items():
        pipe = bench_68_gpu.lever_pipeline(name, 3, scatter)
        crop, est = pipe[0], pipe[-1]
        assert crop.detector is None and crop.jitter == tuple(scatter)
        assert crop.margin == recipe["margin"]
        assert est.max_epochs == 3
        expected = {**recipe["estimator"], **changes.get("estimator", {})}
        for key, value in expected.items():
            if key != "max_epochs":
                assert est.get_params()[key] == value, (name, key)
        augment = {**recipe["augment"], **changes.get("augment", {})}
        for key, value in augment.items():
            assert getattr(est.augment, key) == value, (name, key)
        copy = clone(pipe)[0]
        assert (copy.detector, copy.jitter, copy.margin) == (None, tuple(scatter), crop.margin)


def test_the_card_note_sees_test_sets_listed_several_times():
    train_pretrained = import_benchmark("train_pretrained")
    note = train_pretrained.held_out_note
    assert note(train_pretrained.HELD_OUT_68).startswith("held out")
    assert "youtube:test and afw are in the training data" in note(train_pretrained.TRAIN_68)
    assert "afw are in" in note("youtube:train+3*afw") and "youtube:test" not in note("3*afw")


def test_the_card_command_names_the_options_that_changed_the_training():
    import shlex
    from argparse import ArgumentTypeError

    train_pretrained = import_benchmark("train_pretrained")
    parse, command = train_pretrained.build_parser().parse_args, train_pretrained.training_command
    assert command(parse(["ibug68"])) == "python benchmarks/train_pretrained.py ibug68"
    probe = parse(["ibug68", "--held-out", "--epochs", "29", "--seed", "1", "--output", "x.fkd"])
    assert command(probe) == (
        "python benchmarks/train_pretrained.py ibug68 --held-out --epochs 29 --seed 1"
    )
    given = ["module__decoder_channels=32", "widths=(16, 32, 64, 128)", "loss=mse"]
    probe = parse(["ibug68", "--held-out"] + [arg for text in given for arg in ("--set", text)])
    assert probe.set == [
        ("module__decoder_channels", 32),
        ("widths", (16, 32, 64, 128)),
        ("loss", "mse"),
    ]
    # the card's command line gives the script the same options again
    assert parse(shlex.split(command(probe))[2:]) == probe
    for bad in ("lr", "=3", "max epochs=3"):
        with pytest.raises(ArgumentTypeError, match="NAME=VALUE"):
            train_pretrained.parse_setting(bad)


@pytest.mark.parametrize(
    ("setting", "error"),
    [
        ("modul__stem_channels=16", "modul__stem_channels"),
        ("module__stem_channel=16", "stem_channel"),
    ],
)
def test_a_misspelt_setting_fails_before_the_faces_load(monkeypatch, setting, error):
    """``--set`` names are checked on noise images first: a misspelt estimator or
    network parameter fails with its name in the message, without loading any data."""
    train_pretrained = import_benchmark("train_pretrained")

    def no_loading(spec):
        raise AssertionError(f"loaded {spec} before the settings were checked")

    monkeypatch.setattr(train_pretrained, "load_dataset", no_loading)
    with pytest.raises((ValueError, TypeError), match=error):
        train_pretrained.main(["ibug68", "--held-out", "--epochs", "1", "--set", setting])
    # a valid one passes the check and goes on to load the faces
    with pytest.raises(AssertionError, match="loaded youtube:train"):
        train_pretrained.main(["ibug68", "--held-out", "--set", "module__stem_channels=16"])


def test_small_data_rerun_of_one_model_replaces_its_rows_in_place(tmp_path, monkeypatch):
    bench_small = import_benchmark("bench_small")
    common = import_benchmark("_common")
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    old = [
        {"data": "London", "model": "mean training shape", "mean_px": 2.0},
        {"data": "London", "model": "FaceKeypointRegressor()", "mean_px": 1.2},
        {"data": "London", "model": "HeatmapKeypointEstimator()", "mean_px": 1.1},
        {"data": "IMM", "model": "FaceKeypointRegressor()", "mean_px": 2.1},
    ]
    common.save_results("small_data", old)
    rows = common.saved_rows("small_data")
    assert rows == old
    new = {"data": "London", "model": "FaceKeypointRegressor()", "mean_px": 1.0}
    bench_small.put_row(rows, new)
    assert [r["mean_px"] for r in rows] == [2.0, 1.0, 1.1, 2.1]
    bench_small.put_row(rows, {"data": "IMM", "model": "mean training shape", "mean_px": 7.1})
    assert len(rows) == 5 and rows[-1]["mean_px"] == 7.1


def test_small_data_ablation_follows_the_chosen_model():
    bench_small = import_benchmark("bench_small")
    both = bench_small.candidate_models(None, ablation=True, seed=3)
    assert list(both) == [
        "FaceKeypointRegressor()",
        "HeatmapKeypointEstimator()",
        "FaceKeypointRegressor(mean_shape_start=False)",
        "HeatmapKeypointEstimator(mean_shape_start=False)",
    ]
    heatmap = bench_small.candidate_models("heatmap", ablation=True, seed=3)
    assert list(heatmap) == [
        "HeatmapKeypointEstimator()",
        "HeatmapKeypointEstimator(mean_shape_start=False)",
    ]
    est = heatmap["HeatmapKeypointEstimator(mean_shape_start=False)"]()
    assert est.mean_shape_start is False and est.random_state == 3
    assert list(bench_small.candidate_models("regressor", ablation=False, seed=0)) == [
        "FaceKeypointRegressor()"
    ]
