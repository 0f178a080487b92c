import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_fkd.augment import Augment
from sklearn_fkd.nn.heatmaps import decode_heatmaps, gaussian_heatmaps

H, W = 48, 64


def to_unit(points_px):
    """Pixels -> [-1, 1] (align_corners=False), as the estimators feed Augment."""
    return (2 * points_px + 1) / torch.tensor([W, H]) - 1


def to_px(u, w=W, h=H):
    return ((u + 1) * torch.tensor([w, h]) - 1) / 2


def blob_images(points_px, intensities, sigma=1.5):
    """One image per sample with a Gaussian blob of a given peak at each point."""
    maps = gaussian_heatmaps(points_px, (H, W), sigma) * intensities[None, :, None, None]
    return maps.sum(dim=1, keepdim=True)


def test_pixels_and_points_move_together():
    torch.manual_seed(0)
    n = 64
    pts = torch.stack([torch.rand(n) * 30 + 17, torch.rand(n) * 20 + 14], dim=-1)[:, None]
    images = blob_images(pts, torch.tensor([1.0]))
    aug = Augment(rotation=30, shift=0.1, scale=0.15, flip=True, brightness=0, contrast=0)
    out, moved = aug(images, to_unit(pts), flip_permutation=np.array([0]))
    found = decode_heatmaps(out)  # the blob's peak in the augmented image
    expected = to_px(moved)
    ok = ~torch.isnan(expected).any(dim=-1)
    assert ok.float().mean() > 0.9
    err = (found[ok] - expected[ok]).norm(dim=-1)
    # resampling a zoomed blob costs a few hundredths of a pixel; a convention error
    # (half-pixel shift, wrong rotation centre or aspect) would cost 0.5 px or more
    assert err.mean() < 0.08 and err.max() < 0.25, err


def test_flip_swaps_left_and_right_labels():
    """After a flip, the point labelled 'left' sits on the mirrored *right* blob."""
    torch.manual_seed(1)
    pts = torch.tensor([[[20.0, 20.0], [44.0, 22.0]]]).repeat(32, 1, 1)
    images = blob_images(pts, torch.tensor([1.0, 0.5]))
    aug = Augment(rotation=0, shift=0, scale=0, flip=True, brightness=0, contrast=0)
    out, moved = aug(images, to_unit(pts), flip_permutation=np.array([1, 0]))
    px = to_px(moved)
    value_at_label0 = out[
        torch.arange(32), 0, px[:, 0, 1].round().long(), px[:, 0, 0].round().long()
    ]
    mirrored = torch.isclose(px[:, 0, 0], torch.tensor(W - 1 - 44.0))
    assert mirrored.any() and (~mirrored).any()  # about half the batch flipped
    torch.testing.assert_close(
        value_at_label0[mirrored], torch.full((int(mirrored.sum()),), 0.5), atol=0.02, rtol=0
    )
    torch.testing.assert_close(
        value_at_label0[~mirrored], torch.ones(int((~mirrored).sum())), atol=0.02, rtol=0
    )
    np.testing.assert_allclose(px[mirrored, 0, 1].numpy(), 22.0, atol=1e-4)


def test_points_pushed_outside_become_nan_and_flip_needs_pairs():
    torch.manual_seed(2)
    pts = torch.tensor([[[1.0, 24.0], [32.0, 24.0]]]).repeat(200, 1, 1)
    aug = Augment(rotation=0, shift=0.2, scale=0, flip=False, brightness=0, contrast=0)
    _, moved = aug(torch.zeros(200, 1, H, W), to_unit(pts))
    outside = torch.isnan(moved[:, 0]).all(dim=-1)
    assert 0 < outside.float().mean() < 1
    assert not torch.isnan(moved[:, 1]).any()  # the central point never leaves
    flip_only = Augment(rotation=0, shift=0, scale=0, flip=True, brightness=0, contrast=0)
    _, same = flip_only(torch.zeros(8, 1, H, W), to_unit(pts[:8]), flip_permutation=None)
    torch.testing.assert_close(same, to_unit(pts[:8]))  # no pairs known -> no flip


def test_photometric_jitter_and_blur_keep_points():
    torch.manual_seed(3)
    images = torch.rand(8, 1, H, W)
    pts = to_unit(torch.tensor([[[10.0, 10.0]]]).repeat(8, 1, 1))
    aug = Augment(rotation=0, shift=0, scale=0, flip=False, brightness=0.3, contrast=0.3, blur=2)
    out, moved = aug(images, pts)
    torch.testing.assert_close(moved, pts)
    assert not torch.equal(out, images) and out.shape == images.shape


def test_augment_is_a_sklearn_object_with_validation():
    aug = Augment(rotation=15)
    assert clone(aug).get_params()["rotation"] == 15
    aug.set_params(shift=0.2)
    assert aug.shift == 0.2
    with pytest.raises(ValueError, match="rotation"):
        Augment(rotation=-1).validate()
    with pytest.raises(ValueError, match="scale"):
        Augment(scale=1.5).validate()


def test_heatmap_decoding_is_sub_pixel():
    pts = torch.tensor([[[10.3, 20.7], [40.55, 5.2], [0.0, 0.0]]])
    maps = gaussian_heatmaps(pts, (H, W), sigma=2.0)
    torch.testing.assert_close(decode_heatmaps(maps)[:, :2], pts[:, :2], atol=1e-3, rtol=0)
    missing = gaussian_heatmaps(torch.tensor([[[np.nan, np.nan]]]), (H, W), 2.0)
    assert missing.abs().max() == 0


def _flip_only():
    return Augment(rotation=0, shift=0, scale=0, flip=True, brightness=0, contrast=0)


@pytest.mark.parametrize("schema_name", ["imm58", "ibug68", "kaggle15"])
def test_flip_keeps_every_named_pair_on_its_side_on_real_faces(schema_name, imm, youtube_test):
    """On real faces, every flip pair whose left point lies on the image's right keeps
    that order after a flip: the flipped "left eye" is the subject's left eye of the
    mirrored face. Without the swap every such pair would be reversed."""
    from sklearn_fkd.keypoints import IBUG68, IMM58, KAGGLE15, convert_keypoints
    from sklearn_fkd.preprocessing import Grayscale, Resize

    schema = {"imm58": IMM58, "ibug68": IBUG68, "kaggle15": KAGGLE15}[schema_name]
    data = imm if schema is IMM58 else youtube_test
    resize = Resize((48, 64) if schema is IMM58 else (64, 64))
    images = resize.transform(Grayscale().transform(data.images[:200]))
    keypoints = resize.transform_keypoints(data.images[:200], data.keypoints[:200])
    if schema is KAGGLE15:
        keypoints = convert_keypoints(keypoints, IBUG68, KAGGLE15)
    h, w = images.shape[1:3]
    scale = torch.tensor([w, h], dtype=torch.float64)
    points = torch.from_numpy(keypoints.reshape(len(keypoints), -1, 2))
    unit = ((2 * points + 1) / scale - 1).float()
    x = torch.from_numpy(images[:, None].astype(np.float32) / 255)
    torch.manual_seed(0)
    out, moved = _flip_only()(x, unit, flip_permutation=schema.flip_permutation)
    flipped = (out - x).abs().flatten(1).amax(dim=1) > 1e-3  # identity resampling: ~3e-6
    assert 0.3 < flipped.float().mean() < 0.7
    # pixels: the flipped image is the mirror of the original
    torch.testing.assert_close(out[flipped], x[flipped].flip(-1), atol=1e-4, rtol=0)
    before, after = points[..., 0].numpy(), to_px(moved, w, h)[..., 0].numpy()
    for i, j in schema.flip_pairs:
        side = np.sign(before[:, i] - before[:, j])
        ordered = np.nanmean(side) > 0.9 or np.nanmean(side) < -0.9
        if not ordered:
            continue  # e.g. points that nearly coincide horizontally
        keeps = np.sign(after[flipped.numpy(), i] - after[flipped.numpy(), j])
        assert np.nanmean(keeps == np.sign(np.nanmean(side))) > 0.9, schema.point_names[i]
