"""
Nose tip on unseen persons
==========================

Train a :class:`~sklearn_fkd.NoseRegressor` on IMM persons 1-32 (grey, 160x120) for a
few epochs and predict the nose tip of persons 33-40 in the original 640x480 pixels.
``benchmarks/bench_imm.py`` trains the full 60 epochs (about 4.7 px).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from sklearn_fkd import IMM58, NOSE, NoseRegressor, convert_keypoints
from sklearn_fkd._imaging import resize_image, scale_keypoints
from sklearn_fkd.datasets import load_imm_faces
from sklearn_fkd.metrics import mean_keypoint_error
from sklearn_fkd.plotting import plot_keypoints

imm = load_imm_faces(as_gray=True)
X = np.stack([resize_image(im, (160, 120)) for im in imm.images])
nose = convert_keypoints(imm.keypoints, IMM58, NOSE)  # index 52, under the nose
train = imm.groups < 33

est = NoseRegressor(max_epochs=12, random_state=0)
est.fit(X[train], scale_keypoints(nose[train], 0.25, 0.25))
pred = scale_keypoints(est.predict(X[~train]), 4, 4)  # back to 640x480
print(f"mean nose-tip error on persons 33-40: {mean_keypoint_error(nose[~train], pred):.1f} px")

fig, axes = plt.subplots(1, 4, figsize=(12, 3))
for ax, i in zip(axes, range(0, 48, 12), strict=True):
    plot_keypoints(imm.images[~train][i], nose[~train][i], pred[i], ax=ax)
out = Path(__file__).parent / "output"
out.mkdir(exist_ok=True)
fig.savefig(out / "nose_regressor.png", dpi=90)
