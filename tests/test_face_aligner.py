"""FaceAligner: eyes level at fixed places, pixels and points moved by the same map, and
predictions back in the photo's pixels through a pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_fkd import HeatmapKeypointEstimator
from sklearn_fkd.geometry import AffineMap
from sklearn_fkd.pipeline import make_keypoint_pipeline
from sklearn_fkd.preprocessing import FaceAligner, Grayscale
from sklearn_fkd.preprocessing.face_aligner import eye_centres

from .conftest import data_folder


@pytest.fixture(scope="module")
def afw():
    data_folder("helen_afw_68pt")
    from sklearn_fkd.datasets import load_helen_afw

    bunch = load_helen_afw("afw")
    return [np.asarray(im) for im in bunch.images[:40]], bunch.keypoints[:40]


def test_the_eyes_land_level_at_the_template_places_on_real_faces(afw):
    images, points = afw
    aligner = FaceAligner(size=(120, 100), eye_distance=0.3, eye_height=0.4).fit(images, points)
    crops = aligner.transform(images, keypoints=points)
    assert crops.shape == (40, 120, 100, 3) and crops.dtype == np.uint8
    moved = aligner.point_map(images, keypoints=points).forward(points).reshape(40, 68, 2)
    eyes = eye_centres(moved)
    np.testing.assert_allclose(eyes[:, 0], np.tile([49.5 - 15, 48], (40, 1)), atol=1e-9)
    np.testing.assert_allclose(eyes[:, 1], np.tile([49.5 + 15, 48], (40, 1)), atol=1e-9)
    # and the mouth below them, the nose between: upright faces
    assert (moved[:, 66, 1] > moved[:, 30, 1]).all() and (moved[:, 30, 1] > 48).all()


def test_pixels_move_where_the_points_go():
    """Bright dots at known places of a photo end where the map sends their points."""
    rng = np.random.default_rng(0)
    dots = rng.uniform(60, 240, (68, 2))
    dots[36:42] = np.array([110, 120]) + rng.normal(0, 2, (6, 2))  # a right eye...
    dots[42:48] = np.array([170, 95]) + rng.normal(0, 2, (6, 2))  # ...and a tilted left one
    yy, xx = np.mgrid[:300, :320]
    probe = np.array([140.3, 200.7])
    image = 255 * np.exp(-((xx - probe[0]) ** 2 + (yy - probe[1]) ** 2) / (2 * 3.0**2))
    image = image.astype(np.float32)[None]
    aligner = FaceAligner(size=96).fit(image, dots.reshape(1, -1))
    crop = aligner.transform(image, keypoints=dots.reshape(1, -1))[0]
    where = aligner.point_map(image, keypoints=dots[None]).forward(probe[None])[0]
    # the blob's centre of mass in the crop is where the point went
    weight = crop / crop.sum()
    centre = [(weight * np.arange(96)[None]).sum(), (weight * np.arange(96)[:, None]).sum()]
    np.testing.assert_allclose(centre, where, atol=0.15)


def test_a_pipeline_aligns_at_fit_and_predicts_back_in_the_photo(afw):
    images, points = afw
    pipe = make_keypoint_pipeline(
        FaceAligner(size=64, eye_distance=0.25),  # the whole face inside
        Grayscale(),
        HeatmapKeypointEstimator(backbone="fpn", widths=(8, 16, 32), max_epochs=1, random_state=0),
    ).fit(images[:32], points[:32])
    predicted = pipe.predict(images[32:], keypoints=points[32:])  # e.g. a first model's
    aligner = pipe[0]
    crops = aligner.transform(images[32:], keypoints=points[32:])
    in_crops = pipe[-1].predict(Grayscale().transform(crops))
    expected = aligner.point_map(images[32:], keypoints=points[32:]).inverse(in_crops)
    np.testing.assert_allclose(predicted, expected, atol=1e-6)
    assert clone(aligner).get_params() == aligner.get_params()


def test_bad_inputs_are_named(afw):
    images, points = afw
    with pytest.raises(ValueError, match="needs each face's keypoints"):
        FaceAligner().fit(images[:2]).transform(images[:2])
    gaps = points[:2].copy()
    gaps[1, 2 * 42 : 2 * 48] = np.nan
    with pytest.raises(ValueError, match="eye points of face 1 are missing"):
        FaceAligner().transform(images[:2], keypoints=gaps)
    with pytest.raises(ValueError, match="size must be integers"):
        FaceAligner(size=(1, 5)).fit(images[:2], points[:2])
    with pytest.raises(ValueError, match="eye_distance"):
        FaceAligner(eye_distance=0).fit(images[:2], points[:2])
    with pytest.raises(ValueError, match="invertible"):
        AffineMap(np.zeros((1, 2, 3)), np.array([[4, 4]]))
    before = points[:2].copy()
    FaceAligner().transform(images[:2], keypoints=points[:2])
    np.testing.assert_array_equal(points[:2], before)


def test_affine_maps_go_and_come_back():
    rng = np.random.default_rng(1)
    matrix = np.concatenate(
        [rng.normal(0, 1, (5, 2, 2)) + 2 * np.eye(2), rng.normal(0, 9, (5, 2, 1))], 2
    )
    amap = AffineMap(matrix, np.tile([10, 10], (5, 1)))
    y = rng.uniform(0, 50, (5, 8))
    np.testing.assert_allclose(amap.inverse(amap.forward(y)), y, atol=1e-9)
    y[0, :2] = np.nan
    assert np.isnan(amap.forward(y)[0, :2]).all() and np.isfinite(amap.forward(y)[0, 2:]).all()


def test_only_the_faces_region_is_read_and_the_crop_is_the_whole_photos(afw):
    """The warp filters and samples the part of the photo the crop covers; its pixels
    equal those of filtering the whole photo first, shrinking or enlarging."""
    from scipy import ndimage

    from sklearn_fkd.preprocessing.face_aligner import _warp_image

    images, points = afw
    for size, distance in ((48, 0.3), (300, 0.6)):  # shrinks, then enlarges the faces
        aligner = FaceAligner(size=size, eye_distance=distance)
        point_map = aligner.point_map(images[:6], keypoints=points[:6])
        for image, inverse in zip(images[:6], point_map.inverse_matrix(), strict=True):
            shrink = 1.0 / np.sqrt(abs(np.linalg.det(inverse[:, :2])))
            whole = image.astype(np.float32)
            if shrink < 1:
                whole = ndimage.gaussian_filter(whole, (0.5 * (1 / shrink - 1),) * 2 + (0,))
            matrix = np.block([[inverse[::-1, [1, 0]], np.zeros((2, 1))], [np.zeros((1, 2)), 1]])
            expected = ndimage.affine_transform(
                whole, matrix, [*inverse[::-1, 2], 0.0], output_shape=(size, size, 3), order=1
            )
            got = _warp_image(image, inverse, (size, size))
            np.testing.assert_array_equal(
                got, np.clip(np.round(expected), 0, 255).astype(np.uint8)
            )
    outside = np.array([[1.0, 0.0, 5000.0], [0.0, 1.0, 5000.0]])  # no pixel of the photo
    assert not _warp_image(images[0], outside, (8, 8)).any()
