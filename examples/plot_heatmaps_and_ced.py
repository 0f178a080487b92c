"""
Heatmaps, filters, loss curves and a CED comparison
===================================================

Two 58-point models on IMM persons 1-32 (Nordstrøm et al. 2004; Stegmann et al. 2003):
a :class:`~sklearn_fkd.FaceKeypointRegressor` that regresses coordinates and a
:class:`~sklearn_fkd.HeatmapKeypointEstimator` (U-Net heatmaps, soft-argmax decoding),
both on grey 64x48 inputs for a few epochs. On persons 33-40 the figures of
:mod:`sklearn_fkd.plotting`: the cumulative error distribution of both models and the
mean shape, the heatmap model's maps for one face, the regressor's first-layer filters,
the loss curves, and the best and worst faces. ``benchmarks/`` trains longer.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_fkd import (
    IMM58,
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    make_keypoint_pipeline,
    plotting,
)
from sklearn_fkd.datasets import load_imm_faces
from sklearn_fkd.metrics import nme, per_image_nme
from sklearn_fkd.preprocessing import Resize

imm = load_imm_faces(as_gray=True)
train, test = imm.groups < 33, imm.groups >= 33
X_test, y_test = imm.images[test], imm.keypoints[test]

models = {
    "regressor": FaceKeypointRegressor(max_epochs=25, random_state=0),
    "heatmaps": HeatmapKeypointEstimator(max_epochs=12, random_state=0),
}
pipes, errors = {}, {}
errors["mean shape"] = per_image_nme(
    y_test, np.tile(imm.keypoints[train].mean(axis=0), (test.sum(), 1)), schema=IMM58
)
for name, est in models.items():
    pipes[name] = make_keypoint_pipeline(Resize((48, 64)), est)
    pipes[name].fit(imm.images[train], imm.keypoints[train])
    pred = pipes[name].predict(X_test)  # 640x480 pixels
    errors[name] = per_image_nme(y_test, pred, schema=IMM58)
    print(f"{name}: NME {nme(y_test, pred, schema=IMM58):.3f} on persons 33-40")

# %%
# Cumulative error distribution: the share of test faces under each NME.
ax = plotting.plot_ced(errors, max_error=0.3)

# %%
# The heatmap model's maps for one test face, in the network's 64x48 input frame.
face = pipes["heatmaps"][:-1].transform(X_test[:1])
maps = pipes["heatmaps"][-1].predict_heatmaps(face)[0]
fig = plotting.plot_heatmaps(face[0], maps, points=[13, 31, 41, 52])

# %%
# The regressor's learned first-layer filters and both models' loss curves.
fig = plotting.plot_filters(pipes["regressor"])
ax = plotting.plot_loss_curves(pipes)

# %%
# The regressor's three best and worst test faces by NME.
fig = plotting.plot_best_worst(X_test, y_test, pipes["regressor"].predict(X_test), IMM58)

plt.show()
