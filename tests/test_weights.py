"""What a ``weights=`` value is and what fit starts from (``weights.py``): a shipped model's
name, a file of one's own, the network's head for other points."""

from __future__ import annotations

import io

import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_fkd import (
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    KeypointSchema,
    NoseRegressor,
    PretrainedWeights,
    load_pretrained,
)


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


def test_weights_a_pickle_or_other_file_is_refused(small_imm, tmp_path):
    import pickle

    X, y, _ = small_imm
    for name, content in (("w.pkl", pickle.dumps({"a": 1})), ("w.txt", b"hello")):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match="neither a sklearn-fkd model file nor a torch"):
            FaceKeypointRegressor(weights=tmp_path / name, max_epochs=1).fit(X[:8], y[:8])


def test_resnet18_starts_from_a_torchvision_state_dict(small_imm, tmp_path):
    """The documented path: backbone="resnet18", weights="r18.pth" (torch.save's zip)."""
    from torchvision.models import resnet18

    X, y, _ = small_imm
    torch.manual_seed(0)
    state = resnet18().state_dict()
    path = tmp_path / "r18.pth"
    torch.save(state, path)
    est = FaceKeypointRegressor(backbone="resnet18", weights=str(path), max_epochs=1, lr=1e-12)
    est.fit(X[:8], y[:8])
    stem = est.module_.net.conv1.weight.detach()
    torch.testing.assert_close(stem, state["conv1.weight"].sum(1, keepdim=True), atol=1e-6, rtol=0)
    assert est.network_spec_[1]["weights"] is None  # no path kept for the model file
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with pytest.raises(ValueError, match="only FaceKeypointRegressor\\(backbone='resnet18'\\)"):
        FaceKeypointRegressor(weights=str(path), max_epochs=1).fit(X[:8], y[:8])
