"""
Nose tip on unseen persons
==========================

Train a :class:`~sklearn_fkd.NoseRegressor` on IMM persons 1-32 (Nordstrøm et al. 2004)
for a few epochs, through a pipeline that makes the 640x480 photos grey 160x120 inputs,
and predict the nose tip of persons 33-40 back in the original pixels.
``benchmarks/bench_imm.py`` trains the full 60 epochs (about 4.7 px).
"""

import matplotlib.pyplot as plt

from sklearn_fkd import IMM58, NOSE, NoseRegressor, convert_keypoints, make_keypoint_pipeline
from sklearn_fkd.datasets import load_imm_faces
from sklearn_fkd.metrics import mean_keypoint_error
from sklearn_fkd.plotting import plot_keypoints
from sklearn_fkd.preprocessing import Grayscale, Resize

imm = load_imm_faces()
nose = convert_keypoints(imm.keypoints, IMM58, NOSE)  # index 52, under the nose
train = imm.groups < 33

# %%
# The pipeline moves the points with the images at fit, and maps the predictions back.
pipe = make_keypoint_pipeline(
    Grayscale(), Resize((120, 160)), NoseRegressor(max_epochs=12, random_state=0)
)
pipe.fit(imm.images[train], nose[train])
pred = pipe.predict(imm.images[~train])  # in 640x480 pixels
print(f"mean nose-tip error on persons 33-40: {mean_keypoint_error(nose[~train], pred):.1f} px")

# %%
# Four unseen faces: truth in green, prediction in red.
fig, axes = plt.subplots(1, 4, figsize=(12, 3))
for ax, i in zip(axes, range(0, 48, 12), strict=True):
    plot_keypoints(imm.images[~train][i], nose[~train][i], pred[i], ax=ax)

plt.show()
