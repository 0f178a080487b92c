import matplotlib

matplotlib.use("Agg")
import numpy as np

from sklearn_fkd import IBUG68
from sklearn_fkd.plotting import plot_keypoints


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
    matplotlib.pyplot.close(ax.figure)
