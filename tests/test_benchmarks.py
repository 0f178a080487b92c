"""The benchmarks' own logic that decides what a result means."""

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def bench_68():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_68
    finally:
        sys.path.remove(str(BENCHMARKS))
    return bench_68


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
    assert epochs_of(12, 5137, 5137, bench_68.ABLATION["160px"][1]) == 8  # 12 * (128/160)^2
    assert epochs_of(1, 100, 10_000, {"same_compute": True}) == 1  # never zero
