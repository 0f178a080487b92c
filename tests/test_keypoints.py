import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from sklearn_fkd.keypoints import (
    IBUG68,
    IMM58,
    KAGGLE15,
    NOSE,
    KeypointSchema,
    check_keypoints,
    convert_keypoints,
    infer_schema,
    to_flat,
    to_points,
)


def mirror(y, width, schema):
    """Flip flat keypoints horizontally in an image of ``width`` and swap left/right."""
    pts = to_points(np.array(y, dtype=float)).copy()
    pts[..., 0] = width - 1 - pts[..., 0]
    return to_flat(pts[:, schema.flip_permutation])


def derived_flip_pairs(mean_shape):
    """Mirror a mean shape about its own vertical axis and match the mirrored points to
    the original ones one-to-one (minimum total distance)."""
    pts = to_points(mean_shape[None])[0]
    mirrored = pts.copy()
    mirrored[:, 0] = 2 * np.median(pts[:, 0]) - mirrored[:, 0]
    dist = np.linalg.norm(mirrored[:, None] - pts[None], axis=2)
    rows, cols = linear_sum_assignment(dist)
    return cols[np.argsort(rows)]


def test_builtin_schemas_have_expected_sizes():
    assert [s.n_points for s in (NOSE, KAGGLE15, IMM58, IBUG68)] == [1, 15, 58, 68]
    assert KAGGLE15.column_names[:4] == [
        "left_eye_center_x",
        "left_eye_center_y",
        "right_eye_center_x",
        "right_eye_center_y",
    ]
    assert KAGGLE15.column_names[-2:] == ["mouth_center_bottom_lip_x", "mouth_center_bottom_lip_y"]
    assert len(KAGGLE15.column_names) == 30


def test_flip_permutation_is_an_involution():
    for schema in (NOSE, KAGGLE15, IMM58, IBUG68):
        perm = schema.flip_permutation
        np.testing.assert_array_equal(perm[perm], np.arange(schema.n_points))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(name="x", point_names=()), "at least one"),
        (dict(name="x", point_names=("a", "a")), "duplicate"),
        (dict(name="x", point_names=("a", "b"), flip_pairs=((0, 2),)), "flip pair"),
        (
            dict(name="x", point_names=("a", "b", "c"), flip_pairs=((0, 1), (1, 2))),
            "more than one",
        ),
        (dict(name="x", point_names=("a", "b"), normalizing_pair=(0, 0)), "normalizing_pair"),
        (dict(name="x", point_names=("a", "b"), edges=((0, 5),)), "edge"),
    ],
)
def test_invalid_schemas_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KeypointSchema(**kwargs)


def test_user_schema_and_inference():
    eyes = KeypointSchema("eyes", ["l", "r"], flip_pairs=[(0, 1)], normalizing_pair=(0, 1))
    assert eyes.index("r") == 1
    with pytest.raises(KeyError, match="no point named"):
        eyes.index("nose")
    assert infer_schema(68) is IBUG68 and infer_schema(1) is NOSE
    generic = infer_schema(5)
    assert (
        generic.n_points == 5 and generic.flip_pairs is None and generic.normalizing_pair is None
    )


def test_layout_round_trip_and_check_copies(rng):
    y = rng.normal(size=(4, 10))
    np.testing.assert_array_equal(to_flat(to_points(y)), y)
    assert to_points(y).shape == (4, 5, 2)
    checked = check_keypoints(to_points(y))
    checked[0, 0] = 1e9
    assert y[0, 0] != 1e9  # the caller's array is untouched


@pytest.mark.parametrize(
    "y, err, match",
    [
        (np.zeros((3, 5)), ValueError, "even number"),
        (np.zeros((3, 4, 3)), ValueError, "n_points, 2"),
        (np.zeros(4), ValueError, "shape"),
        (np.array([[1.0, np.inf]]), ValueError, "infinite"),
        (np.array([[1.0, np.nan]]), ValueError, "only one coordinate"),
        (np.array([["a", "b"]]), TypeError, "numeric"),
    ],
)
def test_check_keypoints_errors(y, err, match):
    with pytest.raises(err, match=match):
        check_keypoints(y)


def test_convert_picks_and_averages(rng):
    y = rng.uniform(0, 100, size=(3, 136))
    k15 = convert_keypoints(y, IBUG68, KAGGLE15)
    pts = to_points(y)
    np.testing.assert_allclose(to_points(k15)[:, 0], pts[:, 42:48].mean(axis=1))  # left eye
    np.testing.assert_allclose(to_points(k15)[:, 10], pts[:, 30])  # nose tip
    np.testing.assert_allclose(convert_keypoints(y, IBUG68, NOSE), y[:, 60:62])
    imm = rng.uniform(0, 100, size=(2, 116))
    np.testing.assert_allclose(convert_keypoints(imm, IMM58, NOSE), imm[:, 104:106])
    # the points layout is preserved, NaN propagates, unknown conversions raise
    assert convert_keypoints(to_points(y), IBUG68, KAGGLE15).shape == (3, 15, 2)
    y[0, 84] = y[0, 85] = np.nan  # point 42, part of the left eye
    assert np.isnan(convert_keypoints(y, IBUG68, KAGGLE15)[0, :2]).all()
    with pytest.raises(ValueError, match="no conversion"):
        convert_keypoints(imm, IMM58, KAGGLE15)
    with pytest.raises(ValueError, match="expected 68"):
        convert_keypoints(imm, IBUG68, KAGGLE15)


def test_conversion_commutes_with_flip(rng):
    """Flipping a 68-point face then converting equals converting then flipping."""
    y = rng.uniform(0, 100, size=(5, 136))
    a = convert_keypoints(mirror(y, 101, IBUG68), IBUG68, KAGGLE15)
    b = mirror(convert_keypoints(y, IBUG68, KAGGLE15), 101, KAGGLE15)
    np.testing.assert_allclose(a, b)


def test_imm_flip_pairs_match_the_real_mean_shape(imm):
    frontal = imm.image_type == 1
    derived = derived_flip_pairs(imm.keypoints[frontal].mean(axis=0))
    np.testing.assert_array_equal(derived, IMM58.flip_permutation)


def test_ibug_flip_pairs_match_the_real_mean_shape(youtube_test):
    derived = derived_flip_pairs(np.nanmean(youtube_test.keypoints, axis=0))
    np.testing.assert_array_equal(derived, IBUG68.flip_permutation)


def test_left_is_the_subjects_left_on_real_faces(youtube_test, imm):
    """Kaggle's 'left' eye is the subject's left, which appears on the image's right."""
    k15 = to_points(convert_keypoints(youtube_test.keypoints, IBUG68, KAGGLE15))
    assert (k15[:, 0, 0] > k15[:, 1, 0]).mean() > 0.99  # left eye centre right of right one
    assert (k15[:, 11, 0] > k15[:, 12, 0]).mean() > 0.99  # mouth left corner
    imm_pts = to_points(imm.keypoints)
    left_eye = imm_pts[:, 13:21, 0].mean(axis=1)
    right_eye = imm_pts[:, 21:29, 0].mean(axis=1)
    assert (left_eye > right_eye).all()
    # the IMM nose tip (index 52) sits between the eyes horizontally, below them
    nose = to_points(convert_keypoints(imm.keypoints, IMM58, NOSE))[:, 0]
    assert ((nose[:, 0] > right_eye) & (nose[:, 0] < left_eye)).all()
    assert (nose[:, 1] > imm_pts[:, 13:29, 1].mean(axis=1)).all()
