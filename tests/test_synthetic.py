"""The core estimators and a pipeline on synthetic faces: no data home needed.

Each synthetic "face" is a dark image with three bright Gaussian blobs (two eyes and a
nose) at random positions; the keypoints are the blob centres. Fast enough to run
everywhere, including where the real data sets are absent.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_fkd import (
    Augment,
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    KeypointSchema,
    NoseRegressor,
    make_keypoint_pipeline,
)
from sklearn_fkd.metrics import mean_keypoint_error
from sklearn_fkd.preprocessing import Resize

EYES_NOSE = KeypointSchema(
    "eyes_nose",
    ("left_eye", "right_eye", "nose"),
    flip_pairs=[(0, 1)],
    normalizing_pair=(0, 1),
)


def blob_faces(n: int, size: int = 24, seed: int = 0):
    """``n`` images (size x size, uint8) with 3 blobs, and their centres (n, 6)."""
    rng = np.random.default_rng(seed)
    cx = rng.uniform(0.3, 0.7, n) * size
    cy = rng.uniform(0.3, 0.6, n) * size
    half = rng.uniform(0.12, 0.2, n) * size
    points = np.stack(
        [cx - half, cy, cx + half, cy, cx, cy + 1.2 * half], axis=1
    )  # image-left eye, image-right eye, nose
    yy, xx = np.mgrid[0:size, 0:size]
    images = np.zeros((n, size, size))
    for k in range(3):
        px, py = points[:, 2 * k, None, None], points[:, 2 * k + 1, None, None]
        images += np.exp(-((xx - px) ** 2 + (yy - py) ** 2) / (2 * 1.5**2))
    noise = rng.normal(0, 0.05, images.shape)
    return np.clip(255 * (images + noise), 0, 255).astype(np.uint8), points


@pytest.fixture(scope="module")
def faces():
    return blob_faces(160)


MODELS = {
    "cnn": lambda: FaceKeypointRegressor(channels=(8, 16, 32), max_epochs=12, random_state=0),
    "heatmap": lambda: HeatmapKeypointEstimator(
        depth=2, base_channels=8, max_epochs=8, random_state=0
    ),
}


@pytest.mark.parametrize("kind", list(MODELS))
def test_learns_the_blobs_better_than_the_mean_shape(kind, faces):
    X, y = faces
    est = MODELS[kind]().set_params(schema=EYES_NOSE).fit(X[:128], y[:128])
    pred = est.predict(X[128:])
    mean_shape = np.tile(y[:128].mean(axis=0), (32, 1))
    assert pred.shape == (32, 6)
    assert mean_keypoint_error(y[128:], pred) < 0.6 * mean_keypoint_error(y[128:], mean_shape)
    clone(est)  # unfitted copy with the same parameters
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.predict(X[128:]), pred, atol=1e-5)


def test_nose_regressor_and_a_pipeline_predict_in_the_callers_pixels(faces):
    X, y = faces
    big = np.repeat(np.repeat(X, 2, axis=1), 2, axis=2)  # 48x48: the pipeline resizes to 24
    y_big = (y + 0.5) * 2 - 0.5
    pipe = make_keypoint_pipeline(
        Resize(24), NoseRegressor(channels=(8, 16), max_epochs=10, random_state=0)
    )
    pipe.fit(big[:128], y_big[:128, 4:6])  # the nose alone
    pred = pipe.predict(big[128:])
    nose = y_big[128:, 4:6]
    assert pred.shape == (32, 2)
    assert mean_keypoint_error(nose, pred) < 0.6 * mean_keypoint_error(
        nose, np.tile(nose.mean(axis=0), (32, 1))
    )


class RecordingAugment(Augment):
    """An Augment that keeps the keypoints of every batch it augments."""

    def __call__(self, images, points, flip_permutation=None):
        images, points = super().__call__(images, points, flip_permutation)
        self.__dict__.setdefault("seen_", []).append(points.detach().clone())
        return images, points


@pytest.mark.parametrize(
    "flip_pairs, mirrored_labels",
    [
        (None, False),  # not known: never flipped (and said so)
        ([(0, 1)], False),  # flipped, and the pair swaps the labels back
        ((), True),  # declared self-symmetric: flipped with the identity
    ],
)
def test_a_schema_without_flip_pairs_is_never_flipped(faces, flip_pairs, mirrored_labels):
    """Flipping with unknown pairs teaches mirrored positions under the wrong labels: a
    custom two-point schema without flip pairs keeps its image-left point on the left
    in every training batch."""
    X, y = faces
    eyes = KeypointSchema("two_eyes", ["a", "b"], flip_pairs=flip_pairs)
    augment = RecordingAugment(rotation=0, shift=0, scale=0, brightness=0, contrast=0)
    est = FaceKeypointRegressor(
        channels=(4, 8), max_epochs=2, schema=eyes, augment=augment, random_state=0
    )
    if flip_pairs is None:
        with pytest.warns(UserWarning, match="does not flip"):
            est.fit(X[:64], y[:64, :4])
    else:
        est.fit(X[:64], y[:64, :4])
    seen = np.concatenate([p.numpy() for p in est.augment_.seen_])
    assert len(seen) >= 100
    swapped = seen[:, 0, 0] > seen[:, 1, 0]  # point "a" right of point "b"
    assert swapped.any() == mirrored_labels


def test_an_untrained_regressor_predicts_the_training_mean_shape(faces):
    """The mean-shape start: with a vanishing learning rate the regressor's prediction
    for any image is the mean of its training points (its zeroed head adds nothing)."""
    X, y = faces
    est = FaceKeypointRegressor(
        channels=(4, 8), max_epochs=1, lr=1e-12, augment=None, random_state=0
    ).fit(X[:64], y[:64])
    pred = est.predict(X[64:96])
    np.testing.assert_allclose(pred, np.tile(y[:64].mean(axis=0), (32, 1)), atol=1e-3)
    off = FaceKeypointRegressor(
        channels=(4, 8), max_epochs=1, lr=1e-12, augment=None, mean_shape_start=False,
        random_state=0,
    ).fit(X[:64], y[:64])  # fmt: skip
    assert np.abs(off.predict(X[64:96]) - pred).max() > 0.1


@pytest.mark.parametrize(
    ("estimator", "width"),
    [
        (FaceKeypointRegressor(channels=(4, 8)), 3.0),
        (HeatmapKeypointEstimator(depth=2, base_channels=4), 1.0),
    ],
)
def test_the_mean_shape_prior_is_as_wide_as_documented(faces, estimator, width):
    """The log-prior on the maps: a Gaussian with ``width`` standard deviations of the
    training positions (three for the regressors' soft-argmax head, one for heatmaps)."""
    from sklearn_fkd.nn.prior import ShapePrior

    X, y = faces
    est = clone(estimator).set_params(max_epochs=1, lr=1e-12, augment=None, random_state=0)
    est.fit(X[:64], y[:64])
    prior = next(m for m in est.module_.modules() if isinstance(m, ShapePrior))
    h, w = est.image_size_
    spread = width * y[:64].std(axis=0).reshape(-1, 2) * [2.0 / w, 2.0 / h]
    np.testing.assert_allclose(prior.precision.numpy(), 1 / (2 * spread**2), rtol=1e-4)


@pytest.mark.parametrize("backbone", ["unet", "fpn"])
def test_test_time_flip_of_a_mirror_symmetric_image_is_mirror_symmetric(faces, backbone):
    """Averaging with the mirrored image's prediction (pairs swapped back): on an image
    that is its own mirror, the two eyes come out mirror images of each other
    (x_left + x_right = W - 1, same y) and the nose on the axis, trained or not
    (without the flip-offset correction, which moves every point alike)."""
    X, y = faces
    small = {"unet": {"depth": 2, "base_channels": 4}, "fpn": {"widths": (4, 8)}}[backbone]
    est = HeatmapKeypointEstimator(
        backbone=backbone, max_epochs=1, schema=EYES_NOSE, test_flip=True, random_state=0,
        correct_flip_offset=False, **small,
    ).fit(X[:32], y[:32])  # fmt: skip
    symmetric = ((X[32:40].astype(float) + X[32:40, :, ::-1]) / 2).astype(np.uint8)
    assert np.array_equal(symmetric, symmetric[:, :, ::-1])
    p = est.predict(symmetric).reshape(-1, 3, 2)
    width = X.shape[2]
    np.testing.assert_allclose(p[:, 0, 0] + p[:, 1, 0], width - 1, atol=1e-3)
    np.testing.assert_allclose(p[:, 0, 1], p[:, 1, 1], atol=1e-3)
    np.testing.assert_allclose(p[:, 2, 0], (width - 1) / 2, atol=1e-3)
    est.set_params(test_flip=False)
    q = est.predict(symmetric).reshape(-1, 3, 2)
    assert np.abs(q[:, 0, 0] + q[:, 1, 0] - (width - 1)).max() > 1e-2  # not by chance


@pytest.mark.parametrize("decode", ["softargmax", "argmax"])
def test_stride_4_maps_decode_synthetic_peaks_to_a_tenth_of_a_pixel(decode):
    """The FPN's maps are a quarter of the input's size: sub-pixel points of a 128x128
    input, drawn as Gaussians on 32x32 maps and decoded as the estimator decodes,
    come back within 0.1 input pixels."""
    import torch

    from sklearn_fkd.nn.heatmaps import gaussian_heatmaps, normalized_to_pixels

    rng = np.random.default_rng(0)
    points = torch.tensor(rng.uniform(24, 104, (4, 5, 2)))  # input pixels, sub-pixel
    on_maps = (points + 0.5) / 4 - 0.5  # the same normalised position on the 32x32 maps
    logits = torch.log(gaussian_heatmaps(on_maps, (32, 32), sigma=1.5) + 1e-30)
    est = HeatmapKeypointEstimator(decode=decode)
    decoded = normalized_to_pixels(est.decode_outputs(logits.float()).view(4, 5, 2), (128, 128))
    assert (decoded.double() - points).abs().max() < 0.1
