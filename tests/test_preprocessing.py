"""Keypoint-aware steps: exact point maps, crops, intensity steps, the face detector."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from sklearn_fkd.geometry import PointMap, keypoint_boxes, scale_boxes
from sklearn_fkd.preprocessing import FaceCrop, Grayscale, Resize, Standardize
from sklearn_fkd.utils import check_images

sizes = st.integers(min_value=1, max_value=400)


def random_points(rng, n, k, h, w):
    return np.stack([rng.uniform(-0.5, w - 0.5, (n, k)), rng.uniform(-0.5, h - 0.5, (n, k))], -1)


@settings(max_examples=60, deadline=None)
@given(h=sizes, w=sizes, out_h=sizes, out_w=sizes, seed=st.integers(0, 2**32 - 1))
def test_resize_inverse_of_forward_is_exact(h, w, out_h, out_w, seed):
    rng = np.random.default_rng(seed)
    X = [np.zeros((h, w), np.uint8)] * 2
    y = random_points(rng, 2, 5, h, w).reshape(2, -1)
    step = Resize((out_h, out_w))
    moved = step.transform_keypoints(X, y)
    np.testing.assert_allclose(step.inverse_transform_keypoints(X, moved), y, atol=1e-4, rtol=0)
    # the image's outer edges map onto each other (pixel-centre convention)
    corners = step.transform_keypoints(X[:1], [[-0.5, -0.5, w - 0.5, h - 0.5]])
    np.testing.assert_allclose(corners, [[-0.5, -0.5, out_w - 0.5, out_h - 0.5]], atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(8, 300),
    w=st.integers(8, 300),
    margin=st.floats(0, 1),
    square=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_face_crop_windows_are_inside_and_invert_exactly(h, w, margin, square, seed):
    rng = np.random.default_rng(seed)
    X = [np.zeros((h, w), np.uint8)] * 3
    y = random_points(rng, 3, 4, h, w).reshape(3, -1)
    step = FaceCrop(margin=margin, square=square, detector=None).fit(X, y)
    point_map = step.point_map(X, y=y)
    start = -point_map.offset
    assert (start >= 0).all() and (start + point_map.out_shapes[:, ::-1] <= [w, h]).all()
    moved = point_map.forward(y)
    np.testing.assert_allclose(point_map.inverse(moved), y, atol=1e-4, rtol=0)
    # every point (all lie in the image) is inside its crop, even without a margin
    upper = np.tile(point_map.out_shapes[:, ::-1], 4) - 0.5
    inside = (moved >= -0.5 - 1e-9) & (moved <= upper + 1e-9)
    assert inside.all()


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(20, 200), w=st.integers(20, 200), out=st.integers(8, 120), seed=st.integers(0)
)
def test_composed_crop_then_resize_inverts_exactly(h, w, out, seed):
    rng = np.random.default_rng(seed)
    X = [np.zeros((h, w), np.uint8)]
    y = random_points(rng, 1, 6, h, w).reshape(1, -1)
    crop = FaceCrop(detector=None).fit(X, y)
    crop_map = crop.point_map(X, y=y)
    crops = crop.warp(X, crop_map)
    both = crop_map.then(Resize(out).point_map(crops))
    np.testing.assert_allclose(both.inverse(both.forward(y)), y, atol=1e-4, rtol=0)
    assert both.out_shapes.tolist() == [[out, out]]


def test_pixels_and_points_move_together_through_crop_and_resize():
    """A bright pixel's centre of mass lands where the point map sends its centre."""
    X = np.zeros((3, 90, 120), np.float32)
    spots = np.array([[30, 40], [70, 20], [100, 75]])  # (x, y)
    for im, (x, y) in zip(X, spots, strict=True):
        im[y - 1 : y + 2, x - 1 : x + 2] = 1.0
    y_flat = spots.reshape(3, 2).astype(float)
    boxes = np.array([[10, 5, 60, 60], [40, 0, 110, 50], [60, 40, 119, 89]], float)
    crop = FaceCrop(margin=0.1, detector=None).fit(X)
    crop_map = crop.point_map(X, boxes=boxes)
    crops = crop.warp(X, crop_map)
    resize = Resize((37, 53))
    resize_map = resize.point_map(crops)
    out = resize.warp(crops, resize_map)
    expected = crop_map.then(resize_map).forward(y_flat)
    for im, (ex, ey) in zip(out, expected, strict=True):
        rows, cols = np.indices(im.shape)
        cx, cy = (im * cols).sum() / im.sum(), (im * rows).sum() / im.sum()
        assert abs(cx - ex) < 0.05 and abs(cy - ey) < 0.05


def test_point_map_validation_and_nan():
    with pytest.raises(ValueError, match="scale"):
        PointMap(np.zeros((1, 2)), np.zeros((1, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match="shape"):
        PointMap(np.ones((2, 2)), np.zeros((1, 2)), np.ones((2, 2)))
    point_map = PointMap(np.full((1, 2), 2.0), np.ones((1, 2)), np.ones((1, 2)))
    y = np.array([[np.nan, np.nan, 3.0, 4.0]])
    out = point_map.forward(y)
    np.testing.assert_array_equal(out, [[np.nan, np.nan, 7.0, 9.0]])
    assert np.isnan(y[0, 1]) and y[0, 2] == 3.0  # the caller's array is untouched
    with pytest.raises(ValueError, match="samples"):
        point_map.forward(np.zeros((2, 2)))


def test_resize_outputs_and_validation():
    X = [np.full((30, 40, 3), 200, np.uint8), np.full((50, 20, 3), 10, np.uint8)]
    out = Resize((12, 16)).fit_transform(X)
    assert out.shape == (2, 12, 16, 3) and out.dtype == np.uint8
    assert Resize(8).transform(X).shape == (2, 8, 8, 3)
    for bad in [(0, 5), (5, 2.5)]:
        with pytest.raises(ValueError, match="size"):
            Resize(bad).transform(X)
    with pytest.raises(TypeError, match="size"):
        Resize("big").transform(X)


@pytest.mark.parametrize(
    ("X", "err", "match"),
    [
        ([], ValueError, "empty"),
        (np.zeros((2, 3)), ValueError, "shape"),
        ([np.zeros((4, 4)), np.zeros(4)], ValueError, r"X\[1\]"),
        ([np.array([["a"]])], TypeError, "numeric"),
        ([np.full((2, 2), np.nan)], ValueError, "NaN"),
        ("no_such_image.png", FileNotFoundError, "no_such_image.png"),  # a str is a path
    ],
)
def test_check_images_errors(X, err, match):
    with pytest.raises(err, match=match):
        check_images(X)


def test_face_crop_from_points_boxes_and_fallbacks():
    X = np.zeros((2, 100, 200), np.uint8)
    y = np.array([[60.0, 40.0, 80.0, 60.0], [np.nan, np.nan, np.nan, np.nan]])
    np.testing.assert_array_equal(keypoint_boxes(y), [[60, 40, 80, 60], [np.nan] * 4])
    step = FaceCrop(margin=0.25, detector=None).fit(X, y)
    boxes = np.array([[0.0, 0.0, 10.0, 10.0], [150.0, 20.0, 190.0, 70.0]])
    point_map = step.point_map(X, y=y, boxes=boxes)
    # row 0 from its points: 20 px grown by 2 x 5 px, centred on (70, 50), whole pixels
    assert point_map.out_shapes.tolist() == [[31, 31], [76, 76]]
    np.testing.assert_array_equal(-point_map.offset[0], [55, 35])
    # row 1 from its box (50 px side -> 76), shifted left to stay inside the image
    np.testing.assert_array_equal(-point_map.offset[1], [124, 8])
    crops = step.transform(X, boxes=boxes)
    assert isinstance(crops, list) and crops[0].shape == (16, 16)
    with pytest.raises(ValueError, match="boxes="):
        step.transform(X)
    with pytest.raises(ValueError, match=r"shape \(2, 4\)"):
        step.transform(X, boxes=boxes[:1])
    with pytest.raises(ValueError, match="x1 > x0"):
        step.transform(X, boxes=boxes[:, [2, 1, 0, 3]])
    with pytest.raises(ValueError, match="margin"):
        FaceCrop(margin=-1).fit(X, y)
    with pytest.raises(ValueError, match="detector"):
        FaceCrop(detector="haar").fit(X, y)


def test_face_crop_warns_and_takes_the_whole_image_when_no_face():
    X = np.zeros((2, 40, 50), np.uint8)
    y = np.array([[10.0, 10.0, 30.0, 30.0]] * 2)
    with pytest.warns(UserWarning, match="calibration"):
        step = FaceCrop(detector=lambda image: None).fit(X, y)
    assert step.detector_hit_rate_ == 0 and step.detector_calibration_ is None
    with pytest.warns(UserWarning, match="no face found in 2 of 2"):
        crops = step.transform(X)
    assert crops.shape == (2, 40, 50)
    assert not np.shares_memory(crops, X)


def test_face_crops_of_photos_are_views_not_copies():
    """Cropping a list of photos of different sizes costs no memory: each crop is a
    window of its photo, with the pixels of that window."""
    rng = np.random.default_rng(0)
    X = [
        rng.integers(0, 255, (120, 100, 3), dtype=np.uint8),
        rng.integers(0, 255, (90, 140, 3), dtype=np.uint8),
    ]
    before = [im.copy() for im in X]
    y = np.array([[30.0, 40.0, 60.0, 70.0], [50.0, 20.0, 90.0, 50.0]])
    step = FaceCrop(detector=None, jitter=0, margin=0.1)
    crops = step.fit_transform(X, y)
    assert isinstance(crops, list) and len(crops) == 2
    pm = step.point_map(X, y)
    for crop, image, offset in zip(crops, X, pm.offset, strict=True):
        assert np.shares_memory(crop, image)
        x0, y0 = (-offset).astype(int)
        np.testing.assert_array_equal(
            crop, image[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]]
        )
    for image, original in zip(X, before, strict=True):
        np.testing.assert_array_equal(image, original)


def test_face_crop_jitter_of_three_values_sets_shift_and_scale_apart():
    """``jitter=(x, y, log scale)``: each box moves and scales by its own spread; one
    number is the same three times."""
    rng = np.random.default_rng(0)
    X = [rng.integers(0, 255, (120, 100), dtype=np.uint8) for _ in range(50)]
    y = np.tile([[30.0, 40.0], [70.0, 40.0], [50.0, 90.0]], (50, 1, 1))

    def boxes(jitter):
        return FaceCrop(detector=None, jitter=jitter).fit(X, y).face_boxes(X, y)

    def spread(b):
        centre, size = (b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2]
        return centre[:, 0].std(), centre[:, 1].std(), np.log(size[:, 0]).std()

    assert spread(boxes(0.0)) == (0.0, 0.0, 0.0)
    x_only = spread(boxes((0.1, 0.0, 0.0)))
    assert x_only[0] > 1.0 and np.allclose(x_only[1:], 0, atol=1e-9)
    scale_only = spread(boxes([0.0, 0.0, 0.1]))
    assert np.allclose(scale_only[:2], 0, atol=1e-9) and 0.05 < scale_only[2] < 0.2
    np.testing.assert_array_equal(boxes(0.1), boxes(np.array([0.1, 0.1, 0.1])))
    for bad in [(0.1, 0.1), (0.1, -0.1, 0.1)]:
        with pytest.raises(ValueError, match="jitter"):
            FaceCrop(detector=None, jitter=bad).fit(X, y)


def test_face_crop_calibrates_a_detector_against_the_points():
    """A detector whose boxes are half the face and shifted up is corrected at fit."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(60, 140, (30, 2))
    y = np.concatenate([centres - 20, centres + 20], axis=1)  # 40 px faces
    X = [np.zeros((200, 200), np.uint8) for _ in range(30)]
    truth = {id(im): c for im, c in zip(X, centres, strict=True)}

    def detector(image):
        cx, cy = truth[id(image)]
        return (cx - 10, cy - 20, cx + 10, cy)  # 20 px, 10 px too high

    step = FaceCrop(margin=0.0, detector=detector).fit(X, y)
    np.testing.assert_allclose(step.detector_calibration_, [0.0, 0.5, 2.0, 2.0])
    assert step.detector_hit_rate_ == 1.0
    np.testing.assert_allclose(
        step.face_boxes(X), np.concatenate([centres - 20, centres + 20], 1), atol=1e-9
    )


@pytest.mark.parametrize("detector", ["lbp", "hog"])
def test_detectors_find_real_faces(youtube_test, detector):
    """The offline detectors (scikit-image's LBP cascade, dlib's HOG detector) on real
    YouTube Faces frames (Wolf et al. 2011), and the calibration that makes their boxes
    look like the keypoints' boxes."""
    if detector == "hog":
        pytest.importorskip("dlib")
    X, y = youtube_test.images[:60], youtube_test.keypoints[:60]
    step = FaceCrop(detector=detector).fit(X[:40], y[:40])
    assert step.detector_hit_rate_ > 0.8
    raw = clone(step).fit(X[:40])  # no keypoints: uncalibrated
    assert raw.detector_calibration_ is None
    truth = FaceCrop(detector=None).face_boxes(X[40:], y=y[40:])
    side = (truth[:, 2:] - truth[:, :2]).max(axis=1)

    def box_error(fitted):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a missed face or two
            boxes = fitted.face_boxes(X[40:])
        found = ~np.isnan(boxes).any(axis=1)
        return np.median(np.abs(boxes - truth)[found].max(axis=1) / side[found])

    calibrated, uncalibrated = box_error(step), box_error(raw)
    assert calibrated < 0.25 and calibrated < 0.8 * uncalibrated, (calibrated, uncalibrated)


def test_grayscale_and_standardize(rng):
    X = rng.integers(0, 256, (3, 8, 9, 3), dtype=np.uint8)
    before = X.copy()
    grey = Grayscale().fit_transform(X)
    assert grey.shape == (3, 8, 9) and grey.dtype == np.uint8
    np.testing.assert_array_equal(Grayscale().transform(grey), grey)  # grey passes through
    std = Standardize().fit_transform(grey)
    assert std.dtype == np.float32
    np.testing.assert_allclose(std.mean(axis=(1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(std.std(axis=(1, 2)), 1, atol=1e-4)
    data = Standardize(per_image=False).fit(grey)
    assert data.mean_ == pytest.approx(grey.mean()) and data.std_ == pytest.approx(grey.std())
    np.testing.assert_allclose(data.transform(grey).mean(), 0, atol=1e-5)
    blank = Standardize().transform(np.zeros((1, 4, 4)))
    assert np.isfinite(blank).all()
    np.testing.assert_array_equal(X, before)
    with pytest.raises(ValueError, match="eps"):
        Standardize(eps=0).fit(grey)


@pytest.mark.parametrize(
    "step",
    [Resize(10), FaceCrop(margin=0.1, detector=None), Grayscale(), Standardize(per_image=False)],
)
def test_steps_clone_and_pickle(step):
    X = np.random.default_rng(0).integers(0, 256, (2, 30, 30), dtype=np.uint8)
    y = np.array([[5.0, 5.0, 20.0, 25.0]] * 2)
    fitted = clone(step).fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    kwargs = (
        {"boxes": np.array([[2.0, 2.0, 20.0, 20.0]] * 2)} if isinstance(step, FaceCrop) else {}
    )
    np.testing.assert_array_equal(restored.transform(X, **kwargs), fitted.transform(X, **kwargs))
    assert clone(step).get_params() == step.get_params()


def test_scale_boxes_keeps_centres_and_nan_rows():
    boxes = np.array([[10.0, 20.0, 30.0, 60.0], [np.nan] * 4])
    grown = scale_boxes(boxes, 1.5)
    np.testing.assert_allclose(grown[0], [5.0, 10.0, 35.0, 70.0])
    assert np.isnan(grown[1]).all()
    np.testing.assert_allclose(scale_boxes(grown[:1], 1 / 1.5), boxes[:1])
    # one factor per box, and a shift of the centre in pixels
    moved = scale_boxes(boxes[:1], np.array([[2.0]]), shift=np.array([[1.0, -1.0]]))
    np.testing.assert_allclose(moved[0], [1.0, -1.0, 41.0, 79.0])
