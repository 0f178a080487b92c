import numpy as np
import pytest
import torch
from torchvision.models import resnet18

from sklearn_fkd import FaceKeypointRegressor
from sklearn_fkd.nn import KeypointCNN, MaskedKeypointLoss, ResNet18Keypoints, UNet
from sklearn_fkd.nn.heatmaps import soft_argmax


def test_target_normalisation_round_trip_and_image_edges():
    est = FaceKeypointRegressor()
    est.image_size_ = (30, 40)  # H, W
    y = np.array([[-0.5, -0.5, 39.5, 29.5, 0.0, 0.0, 12.25, 7.75]])
    u = est._normalize(y)
    np.testing.assert_allclose(u[0, :4], [-1, -1, 1, 1])  # the outer pixel edges
    np.testing.assert_allclose(u[0, 4:6], [-1 + 1 / 40, -1 + 1 / 30])  # first pixel centre
    np.testing.assert_allclose(est._denormalize(u), y, atol=1e-12)


def test_resnet18_loads_a_local_state_dict_into_a_grey_stem(tmp_path):
    torch.manual_seed(0)
    rgb = resnet18(weights=None)
    path = tmp_path / "resnet18.pt"
    torch.save(rgb.state_dict(), path)
    model = ResNet18Keypoints(10, in_channels=1, weights=path)
    torch.testing.assert_close(model.net.conv1.weight, rgb.conv1.weight.sum(1, keepdim=True))
    torch.testing.assert_close(model.net.layer4[1].conv2.weight, rgb.layer4[1].conv2.weight)
    assert model.net.fc.out_features == 10  # the ImageNet head is not loaded
    torch.save({"not": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="not a torchvision ResNet-18"):
        ResNet18Keypoints(10, weights=tmp_path / "bad.pt")


@pytest.mark.parametrize("kind", ["mse", "smooth_l1", "wing"])
def test_masked_losses_ignore_missing_targets(kind):
    loss = MaskedKeypointLoss(kind)
    pred = torch.tensor([[0.1, 0.2, 0.3, 0.4]], requires_grad=True)
    target = torch.tensor([[0.0, 0.2, float("nan"), float("nan")]])
    value = loss(pred, target)
    value.backward()
    assert value > 0 and torch.isfinite(value)
    assert pred.grad[0, 2:].abs().sum() == 0 and pred.grad[0, 0] > 0
    assert loss(pred, torch.full_like(target, float("nan"))) == 0
    with pytest.raises(ValueError, match="loss must be one of"):
        MaskedKeypointLoss("l3")


def test_soft_argmax_finds_a_peak_and_modules_keep_shapes():
    logits = torch.full((1, 1, 6, 8), -50.0)
    logits[0, 0, 2, 5] = 50.0
    torch.testing.assert_close(soft_argmax(logits)[0, 0], torch.tensor([11 / 8 - 1, 5 / 6 - 1]))
    x = torch.randn(2, 1, 37, 45)  # odd sizes
    assert KeypointCNN(10)(x).shape == (2, 10)
    assert KeypointCNN(10, head="fc")(x).shape == (2, 10)
    assert UNet(5, depth=3, base_channels=4)(x).shape == (2, 5, 37, 45)
    with pytest.raises(ValueError, match="odd"):
        KeypointCNN(10, kernel_size=4)
