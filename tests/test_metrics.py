import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score

from sklearn_fkd.keypoints import KAGGLE15, KeypointSchema
from sklearn_fkd.metrics import (
    KeypointScorer,
    ced_auc,
    cumulative_error_distribution,
    failure_rate,
    get_scorer,
    get_scorer_names,
    keypoint_mae,
    keypoint_rmse,
    mean_keypoint_error,
    nme,
    normalizing_distance,
    pck,
    per_image_nme,
    point_errors,
)

EYES = KeypointSchema("eyes3", ("l", "r", "nose"), flip_pairs=((0, 1),), normalizing_pair=(0, 1))
# two images, three points; the eyes are 10 px apart in image 0 and 20 px in image 1
Y_TRUE = np.array(
    [
        [0.0, 0.0, 10.0, 0.0, 5.0, 5.0],
        [0.0, 0.0, 20.0, 0.0, 10.0, 10.0],
    ]
)
Y_PRED = Y_TRUE + np.array(
    [
        [3.0, 4.0, 0.0, 0.0, 0.0, 1.0],  # errors 5, 0, 1
        [0.0, 0.0, 6.0, 8.0, 0.0, 0.0],  # errors 0, 10, 0
    ]
)


def test_hand_computed_values():
    np.testing.assert_allclose(point_errors(Y_TRUE, Y_PRED), [[5, 0, 1], [0, 10, 0]])
    assert mean_keypoint_error(Y_TRUE, Y_PRED) == pytest.approx(16 / 6)
    assert keypoint_rmse(Y_TRUE, Y_PRED) == pytest.approx(np.sqrt((9 + 16 + 1 + 36 + 64) / 12))
    assert keypoint_mae(Y_TRUE, Y_PRED) == pytest.approx((3 + 4 + 1 + 6 + 8) / 12)
    np.testing.assert_allclose(per_image_nme(Y_TRUE, Y_PRED, EYES), [0.2, 1 / 6])
    assert nme(Y_TRUE, Y_PRED, EYES) == pytest.approx((0.2 + 1 / 6) / 2)
    # bbox: sqrt(10*5) and sqrt(20*10)
    np.testing.assert_allclose(
        normalizing_distance(Y_TRUE, EYES, "bbox"), [np.sqrt(50), np.sqrt(200)]
    )
    # PCK: normalised errors 0.5, 0, 0.1 | 0, 0.5, 0
    assert pck(Y_TRUE, Y_PRED, alpha=0.1, schema=EYES) == pytest.approx(4 / 6)
    assert pck(Y_TRUE, Y_PRED, alpha=0.05, schema=EYES) == pytest.approx(3 / 6)
    # AUC up to 0.3 of per-image NME 0.2 and 1/6: mean(1 - e/0.3)
    assert ced_auc(Y_TRUE, Y_PRED, threshold=0.3, schema=EYES) == pytest.approx(
        ((1 - 0.2 / 0.3) + (1 - (1 / 6) / 0.3)) / 2
    )
    assert failure_rate(Y_TRUE, Y_PRED, threshold=0.18, schema=EYES) == 0.5
    assert nme(Y_TRUE, Y_PRED, EYES, normalize=10.0) == pytest.approx((2 + 10 / 3) / 2 / 10)


def test_auc_equals_integral_of_ced():
    rng = np.random.default_rng(0)
    errors = rng.uniform(0, 0.12, size=200)
    grid = np.linspace(0, 0.08, 200001)
    numeric = np.trapezoid(cumulative_error_distribution(errors, grid), grid) / 0.08
    y_true = np.tile([0.0, 0.0, 1.0, 0.0], (200, 1))
    y_pred = y_true.copy()
    y_pred[:, 0] = 2 * errors  # error on one of two points -> per-image NME = errors
    schema = KeypointSchema("two", ("a", "b"), normalizing_pair=(0, 1))
    assert ced_auc(y_true, y_pred, threshold=0.08, schema=schema) == pytest.approx(
        numeric, abs=1e-4
    )


def test_missing_truth_is_skipped_and_identical_input_scores_perfectly():
    y_true = Y_TRUE.copy()
    y_true[0, 4:6] = np.nan
    assert mean_keypoint_error(y_true, Y_PRED) == pytest.approx(15 / 5)
    y_pred = Y_PRED.copy()
    y_pred[0, 4:6] = np.nan  # no prediction where there is no truth: fine
    assert mean_keypoint_error(y_true, y_pred) == pytest.approx(3.0)
    for f in (mean_keypoint_error, keypoint_rmse, keypoint_mae):
        assert f(y_true, y_true) == 0.0
    assert pck(Y_TRUE, Y_TRUE, schema=EYES) == 1.0 and ced_auc(Y_TRUE, Y_TRUE, schema=EYES) == 1.0
    # the (n, K, 2) layout gives the same numbers
    assert nme(Y_TRUE.reshape(2, 3, 2), Y_PRED.reshape(2, 3, 2), EYES) == nme(Y_TRUE, Y_PRED, EYES)


def test_all_nan_row_is_skipped_by_per_image_metrics():
    y_true = np.vstack([Y_TRUE, np.full(6, np.nan)])
    y_pred = np.vstack([Y_PRED, np.zeros(6)])
    e = per_image_nme(y_true, y_pred, EYES)
    assert np.isnan(e[2]) and nme(y_true, y_pred, EYES) == pytest.approx(nme(Y_TRUE, Y_PRED, EYES))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: mean_keypoint_error(Y_TRUE, Y_PRED[:, :4]), "different shapes"),
        (lambda: mean_keypoint_error(Y_TRUE[:, :5], Y_PRED[:, :5]), "even number"),
        (lambda: mean_keypoint_error(np.full((1, 4), np.nan), np.zeros((1, 4))), "no visible"),
        (lambda: mean_keypoint_error(Y_TRUE, np.full_like(Y_PRED, np.nan)), "y_pred has NaN"),
        (lambda: nme(Y_TRUE[:, :2], Y_PRED[:, :2]), "no normalizing_pair"),
        (lambda: nme(Y_TRUE, Y_PRED, KAGGLE15), "15 points"),
        (lambda: nme(Y_TRUE, Y_PRED, EYES, normalize="diag"), "normalize must be"),
        (lambda: nme(np.zeros((1, 6)), np.ones((1, 6)), EYES), "not positive"),
        (lambda: pck(Y_TRUE, Y_PRED, alpha=0, schema=EYES), "alpha"),
        (lambda: ced_auc(Y_TRUE, Y_PRED, threshold=-1, schema=EYES), "threshold"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_missing_normalizing_pair_raises():
    y_true = Y_TRUE.copy()
    y_true[1, 0:2] = np.nan
    with pytest.raises(ValueError, match=r"missing in 1 of 2 images \(first: row 1\)"):
        nme(y_true, Y_PRED, EYES)
    assert nme(y_true, Y_PRED, EYES, normalize="bbox") > 0


def test_scorers_by_name():
    assert "neg_nme" in get_scorer_names() and "pck" in get_scorer_names()
    scorer = get_scorer("pck", alpha=0.1, schema=EYES)
    assert isinstance(scorer, KeypointScorer) and "alpha=0.1" in repr(scorer)

    class Fixed:
        def predict(self, X):
            return Y_PRED

    assert scorer(Fixed(), None, Y_TRUE) == pytest.approx(4 / 6)
    assert get_scorer("neg_keypoint_rmse")(Fixed(), None, Y_TRUE) == -keypoint_rmse(Y_TRUE, Y_PRED)
    assert get_scorer("r2") is not None  # scikit-learn's names pass through
    with pytest.raises(ValueError, match="unknown scorer"):
        get_scorer("accuracy_of_faces")
    with pytest.raises(ValueError, match="only for this library"):
        get_scorer("r2", alpha=1)


def test_dummy_mean_shape_with_person_grouped_folds(imm):
    """The mean-shape baseline through sklearn's own machinery, every scorer by name."""
    X = imm.images[:, ::8, ::8].reshape(len(imm.images), -1)
    y = imm.keypoints
    scores = {}
    for name in get_scorer_names():
        s = cross_val_score(
            DummyRegressor(), X, y, groups=imm.groups, cv=GroupKFold(4), scoring=get_scorer(name)
        )
        assert np.isfinite(s).all()
        scores[name] = s.mean()
    assert -scores["neg_mean_keypoint_error"] > 10  # a constant shape is far from the truth
    assert 0 < -scores["neg_nme"] < 1 and 0 <= scores["pck"] < 0.5
    search = GridSearchCV(
        DummyRegressor(),
        {"strategy": ["mean", "median"]},
        cv=GroupKFold(4),
        scoring={"nme": get_scorer("neg_nme"), "pck": get_scorer("pck")},
        refit="nme",
    )
    search.fit(X, y, groups=imm.groups)
    assert set(search.cv_results_) >= {"mean_test_nme", "mean_test_pck"}
