import numpy as np
import pytest
import torch
from torchvision.models import resnet18

from sklearn_fkd import FaceKeypointRegressor
from sklearn_fkd.nn import KeypointCNN, MaskedKeypointLoss, ResNet18Keypoints, UNet
from sklearn_fkd.nn.heatmaps import soft_argmax


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


def test_fused_inference_matches_and_follows_weight_changes():
    from sklearn_fkd.nn.fusion import fused_for_inference

    torch.manual_seed(0)
    model = UNet(3, depth=2, base_channels=4)
    model(torch.randn(4, 1, 20, 24))  # training-mode pass: BatchNorm running stats move
    model.eval()
    x = torch.randn(2, 1, 20, 24)
    fused = fused_for_inference(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())  # untouched
    with torch.no_grad():
        torch.testing.assert_close(fused(x), model(x), atol=1e-5, rtol=1e-4)
        assert fused_for_inference(model) is fused  # cached
        model.head.weight.add_(1.0)  # weights change -> a new fused copy
        refreshed = fused_for_inference(model)
        assert refreshed is not fused
        torch.testing.assert_close(refreshed(x), model(x), atol=1e-5, rtol=1e-4)


def test_chunked_cpu_inference_equals_one_pass():
    from sklearn_fkd.estimators import inference as net

    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (40, 24, 24), dtype=np.uint8)
    y = rng.uniform(0, 23, (40, 10))
    est = FaceKeypointRegressor(channels=(4, 8), max_epochs=1, random_state=0).fit(X, y)
    chunked = est.set_params(batch_size=40).predict(X)  # 40 > 16: runs in chunks
    saved, net.CPU_INFERENCE_CHUNK = net.CPU_INFERENCE_CHUNK, 1000
    try:
        whole = est.predict(X)
    finally:
        net.CPU_INFERENCE_CHUNK = saved
    np.testing.assert_allclose(chunked, whole, atol=1e-4)


def test_heatmap_predict_decodes_per_chunk_like_one_pass():
    """predict decodes each 16-face chunk as it leaves the U-Net; the points equal
    decoding the whole batch's maps at once."""
    from sklearn_fkd import HeatmapKeypointEstimator

    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (40, 24, 24), dtype=np.uint8)
    y = rng.uniform(0, 23, (40, 10))
    est = HeatmapKeypointEstimator(depth=2, base_channels=4, max_epochs=1, random_state=0)
    est.fit(X, y).set_params(batch_size=40)
    from sklearn_fkd.estimators.dataset import KeypointDataset

    dataset = KeypointDataset(est._check_images(X))
    logits = torch.cat(list(est.forward_iter(dataset)))  # raw maps of the whole batch
    coords = est.decode_outputs(logits).double()
    whole = est.readout().to_pixels(coords).reshape(len(coords), -1).numpy()
    np.testing.assert_allclose(est.predict(X), whole, atol=1e-3)


def test_channel_stats_do_not_depend_on_the_chunk():
    from sklearn_fkd.estimators.dataset import channel_stats

    x = torch.randint(0, 256, (50, 3, 7, 9), dtype=torch.uint8)
    flat = x.transpose(0, 1).reshape(3, -1).double() / 255
    for chunk in (1, 7, 64):
        mean, std = channel_stats(x, chunk=chunk)
        np.testing.assert_allclose(mean, flat.mean(dim=1).numpy(), rtol=1e-12)
        np.testing.assert_allclose(std, flat.std(dim=1).numpy(), rtol=1e-10)


def _textbook_js(p, log_p, points, size, sigma):
    """The Jensen-Shannon term as first written: full-size target, autograd through all."""
    from sklearn_fkd.nn.heatmaps import gaussian_heatmaps

    target = gaussian_heatmaps(points, size, sigma).flatten(2)
    target = target / target.sum(dim=-1, keepdim=True).clamp_min(1e-12)
    log_m = torch.log((0.5 * (p + target)).clamp_min(1e-12))
    log_t = torch.log(target.clamp_min(1e-12))
    return 0.5 * (p * (log_p - log_m)).sum(-1) + 0.5 * (target * (log_t - log_m)).sum(-1)


def test_jensen_shannon_term_matches_the_textbook_form_and_its_gradient():
    from sklearn_fkd.nn.losses import jensen_shannon_to_gaussians

    torch.manual_seed(0)
    size = (6, 5)
    logits = (3 * torch.randn(2, 3, 30, dtype=torch.float64)).requires_grad_()
    points = torch.tensor(
        [[[1.2, 2.7], [4.0, 0.0], [float("nan"), float("nan")]],
         [[2.5, 3.1], [0.3, 5.0], [3.9, 1.4]]], dtype=torch.float64,
    )  # fmt: skip
    weights = torch.rand(2, 3, dtype=torch.float64)  # any upstream gradient

    def value_and_grad(js_of):
        log_p = torch.log_softmax(logits, dim=-1)
        js = js_of(log_p.exp(), log_p, points, size, 1.3)
        (grad,) = torch.autograd.grad((js * weights).sum(), logits)
        return js.detach(), grad

    js, grad = value_and_grad(jensen_shannon_to_gaussians)
    ref_js, ref_grad = value_and_grad(_textbook_js)
    torch.testing.assert_close(js, ref_js)
    torch.testing.assert_close(grad, ref_grad)
    assert js[0, 2] > 0 and torch.isfinite(grad).all()  # a missing point: target all zero
    # a heatmap equal to its target diverges by nothing
    from sklearn_fkd.nn.heatmaps import gaussian_heatmaps

    t = gaussian_heatmaps(points[1:], size, 1.3).flatten(2)
    t = t / t.sum(-1, keepdim=True)
    zero = jensen_shannon_to_gaussians(t, t.log(), points[1:], size, 1.3)
    torch.testing.assert_close(zero, torch.zeros_like(zero), atol=1e-12, rtol=0)


def test_spatial_softmax_matches_softmax_and_its_gradient():
    from sklearn_fkd.nn.heatmaps import spatial_softmax

    torch.manual_seed(0)
    logits = (3 * torch.randn(2, 3, 20, dtype=torch.float64)).requires_grad_()
    w_prob, w_log = torch.randn(2, 2, 3, 20, dtype=torch.float64)  # any upstream gradients

    def grad_of(fn):
        prob, log_prob = fn(logits)
        loss = (prob * w_prob).sum() + (log_prob * w_log).sum()
        return prob.detach(), log_prob.detach(), torch.autograd.grad(loss, logits)[0]

    ours = grad_of(spatial_softmax)
    ref = grad_of(lambda x: (torch.softmax(x, -1), torch.log_softmax(x, -1)))
    for a, b in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, b)
    assert torch.autograd.gradcheck(lambda x: spatial_softmax(x)[0], (logits,))
    assert torch.autograd.gradcheck(lambda x: spatial_softmax(x)[1], (logits,))


def test_sharp_maps_give_no_subnormal_floats():
    """A sharp peak puts probabilities under float32's smallest normal number, which
    CPUs compute with many times slower; the softmax, its gradient and the Gaussian
    targets flush them to zero without changing what they sum to."""
    from sklearn_fkd.nn.heatmaps import expected_position, gaussian_factors, spatial_softmax
    from sklearn_fkd.nn.losses import HeatmapLoss

    tiny = torch.finfo(torch.float32).tiny

    def subnormal(t):
        return int(((t != 0) & (t.abs() < tiny)).sum())

    ys, xs = torch.meshgrid(torch.arange(40.0), torch.arange(40.0), indexing="ij")
    logits = -0.5 * ((xs - 17.3) ** 2 + (ys - 21.6) ** 2)  # spans 0 .. -860
    logits = logits.expand(2, 3, 40, 40).clone().requires_grad_()
    prob, _ = spatial_softmax(logits.flatten(2))
    reference = torch.softmax(logits.detach().flatten(2), dim=-1)
    assert subnormal(reference) > 0  # the case this guards against
    assert subnormal(prob) == 0
    torch.testing.assert_close(prob, reference, atol=1e-20, rtol=1e-6)
    expected = expected_position(torch.softmax(logits.detach().double().flatten(2), -1), (40, 40))
    torch.testing.assert_close(soft_argmax(logits), expected.float())
    gy, gx = gaussian_factors(torch.tensor([[[2.0, 30.0]]]), (40, 40), 1.0)
    assert subnormal(gy) == subnormal(gx) == subnormal(gy[..., :, None] * gx[..., None, :]) == 0
    assert gx[0, 0, 2] == 1 and gy[0, 0, 30] == 1
    target = torch.tensor([[17.3, 21.6] * 3, [5.0, 33.0] * 3]) / 20 - 1  # [-1, 1] units
    HeatmapLoss("wing", 1.0, 1.0)(logits, target).backward()
    assert subnormal(logits.grad) == 0 and torch.isfinite(logits.grad).all()


def test_the_shape_prior_is_computed_once_and_follows_its_buffers():
    from sklearn_fkd.nn.prior import ShapePrior

    prior = ShapePrior(2)
    prior.set(torch.tensor([[0.0, 0.0], [0.5, -0.5]]), torch.tensor([[0.3, 0.3], [0.2, 0.2]]))
    logits = torch.zeros(1, 2, 6, 8)
    first = prior(logits)
    assert prior.log_prior(6, 8, "cpu") is prior.log_prior(6, 8, "cpu")  # cached
    prior.set(torch.tensor([[0.5, 0.5], [0.5, -0.5]]), torch.tensor([[0.3, 0.3], [0.2, 0.2]]))
    moved = prior(logits)
    assert not torch.equal(first[0, 0], moved[0, 0]) and torch.equal(first[0, 1], moved[0, 1])
    fresh = ShapePrior(2)
    fresh.load_state_dict(prior.state_dict())
    torch.testing.assert_close(fresh(logits), moved)
    assert prior(torch.zeros(1, 2, 4, 4)).shape == (1, 2, 4, 4)  # another map size
