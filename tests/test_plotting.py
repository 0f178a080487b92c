import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from skorch.dataset import ValidSplit

from sklearn_fkd import IBUG68, IMM58, FaceKeypointRegressor, HeatmapKeypointEstimator
from sklearn_fkd.metrics import ced_auc, per_image_nme
from sklearn_fkd.plotting import (
    first_conv_weights,
    plot_best_worst,
    plot_ced,
    plot_filters,
    plot_heatmaps,
    plot_keypoints,
    plot_loss_curves,
)


def test_plot_keypoints_draws_truth_prediction_and_skeleton():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (50, 60), dtype=np.uint8)
    truth = rng.uniform(0, 49, (68, 2))
    truth[3] = np.nan  # a missing point is not drawn
    pred = np.nan_to_num(truth) + 1  # point 3 predicted although missing in the truth
    ax = plot_keypoints(image, truth, pred, schema=IBUG68, show_indices=True, title="t")
    truth_pts, pred_pts = ax.collections  # one scatter each
    assert truth_pts.get_offsets().shape == (68, 2) and pred_pts.get_label() == "prediction"
    assert len(ax.lines) == 2 * len(IBUG68.edges)
    assert sum(t.get_text() == "3" for t in ax.texts) == 1  # only the predicted point 3
    assert ax.get_xlim() == (-0.5, 59.5) and ax.get_ylim() == (49.5, -0.5)
    plt.close(ax.figure)


@pytest.fixture(scope="module")
def regressor(small_imm):
    X, y, _ = small_imm
    est = FaceKeypointRegressor(max_epochs=3, random_state=0, train_split=ValidSplit(4))
    return est.fit(X[:48], y[:48])


def test_best_worst_grid_is_ordered_by_error(small_imm, regressor):
    X, y, _ = small_imm
    pred = regressor.predict(X[48:60])
    err = per_image_nme(y[48:60], pred, schema=IMM58)
    fig = plot_best_worst(X[48:60], y[48:60], pred, IMM58, n=2)
    titles = [ax.get_title() for ax in fig.axes]
    shown = [float(t.rsplit(" ", 1)[1]) for t in titles]
    assert len(fig.axes) == 4 and titles[0].startswith("best") and titles[2].startswith("worst")
    assert shown[:2] == pytest.approx(np.sort(err)[:2], abs=1e-3)
    assert shown[2:] == pytest.approx(np.sort(err)[::-1][:2], abs=1e-3)
    with pytest.raises(ValueError, match="at least 6 scored images"):
        plot_best_worst(X[:2], y[:2], pred[:2], IMM58)
    plt.close(fig)


def test_loss_curves_come_from_the_history(regressor):
    ax = plot_loss_curves({"cnn": regressor})
    train, valid = ax.lines
    np.testing.assert_allclose(train.get_ydata(), regressor.history[:, "train_loss"])
    np.testing.assert_allclose(valid.get_ydata(), regressor.history[:, "valid_loss"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cnn train", "cnn valid"]
    with pytest.raises(ValueError, match="no training history"):
        plot_loss_curves(FaceKeypointRegressor())
    plt.close(ax.figure)


def test_filters_show_every_first_layer_kernel(regressor):
    weights = first_conv_weights(regressor)
    fig = plot_filters(regressor)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == weights.shape[0]
    np.testing.assert_allclose(images[0].get_array(), weights[0].mean(axis=0), rtol=1e-6)
    with pytest.raises(ValueError, match="fit it first"):
        first_conv_weights(FaceKeypointRegressor())
    plt.close(fig)


def test_heatmaps_superimposed_and_per_point(small_imm):
    X, y, _ = small_imm
    est = HeatmapKeypointEstimator(max_epochs=1, random_state=0).fit(X[:16], y[:16])
    maps = est.predict_heatmaps(X[:1])[0]
    fig = plot_heatmaps(X[0], maps, points=[0, 30])
    assert [ax.get_title() for ax in fig.axes] == ["all points", "point 0", "point 30"]
    overlay = fig.axes[0].images[1].get_array()
    np.testing.assert_allclose(overlay, maps.max(0) / maps.max(0).max(), rtol=1e-5)
    with pytest.raises(ValueError, match=r"shape \(K, h, w\)"):
        plot_heatmaps(X[0], maps[0])
    plt.close(fig)


def test_ced_curves_and_their_auc(rng):
    truth = rng.uniform(0, 100, (40, 68 * 2))
    good, bad = truth + rng.normal(0, 1, truth.shape), truth + rng.normal(0, 5, truth.shape)
    errors = {m: per_image_nme(truth, p, normalize="bbox") for m, p in (("a", good), ("b", bad))}
    ax = plot_ced(errors, max_error=0.08)
    a, b = ax.lines
    assert np.all(np.diff(a.get_ydata()) >= 0) and a.get_ydata()[-1] >= b.get_ydata()[-1]
    expected = ced_auc(truth, good, threshold=0.08, normalize="bbox")
    assert f"AUC {expected:.3f}" in ax.get_legend().get_texts()[0].get_text()
    with pytest.raises(ValueError, match="at least one"):
        plot_ced({})
    plt.close(ax.figure)
