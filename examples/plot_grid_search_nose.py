"""
Grid search on the nose model, persons kept apart
=================================================

The course's first experiments varied the learning rate and the number of channels of
the nose-tip CNN by hand. Here they are one ``GridSearchCV`` over a
``KeypointPipeline``, scored by several of the library's scorers, with folds that never
split a person (IMM: Nordstrøm et al. 2004). Persons 33-40 stay out of the search and
score the refitted best model at the end. Small images and few epochs keep it under a
minute on two CPU cores; ``benchmarks/bench_imm.py --variants`` runs the full-size
versions.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_fkd import NoseRegressor, make_keypoint_pipeline
from sklearn_fkd.datasets import load_imm_faces
from sklearn_fkd.metrics import get_scorer, get_scorers
from sklearn_fkd.preprocessing import Resize

imm = load_imm_faces(as_gray=True)
train = imm.groups < 33  # persons 1-32 for the search, 33-40 held out

pipe = make_keypoint_pipeline(Resize((48, 64)), NoseRegressor(max_epochs=12, random_state=0))
learning_rates = [1e-4, 1e-3, 1e-2]
widths = {"narrow": (8, 16, 32, 64, 64), "default": (16, 32, 64, 128, 128)}
search = GridSearchCV(
    pipe,
    {"noseregressor__lr": learning_rates, "noseregressor__channels": list(widths.values())},
    cv=GroupKFold(3),
    scoring=get_scorers(["neg_mean_keypoint_error", "neg_nme", "pck"]),
    refit="neg_mean_keypoint_error",
)
search.fit(imm.images[train], imm.keypoints[train], groups=imm.groups[train])

print("best parameters:", search.best_params_)
print(f"cross-validated mean error: {-search.best_score_:.2f} px (640x480)")
test_images, test_points = imm.images[~train], imm.keypoints[~train]
held_out = -get_scorer("neg_mean_keypoint_error")(search, test_images, test_points)
print(f"held-out persons 33-40:     {held_out:.2f} px")

# mean error of every candidate: learning rate across, width down
res = search.cv_results_
table = np.empty((len(widths), len(learning_rates)))
for params, score in zip(res["params"], res["mean_test_neg_mean_keypoint_error"], strict=True):
    row = list(widths.values()).index(params["noseregressor__channels"])
    table[row, learning_rates.index(params["noseregressor__lr"])] = -score
fig, ax = plt.subplots(figsize=(5, 2.6))
im = ax.imshow(table, cmap="viridis_r")
ax.set_xticks(range(len(learning_rates)), [f"lr={lr:g}" for lr in learning_rates])
ax.set_yticks(range(len(widths)), list(widths))
for (r, c), value in np.ndenumerate(table):
    ax.text(c, r, f"{value:.1f} px", ha="center", va="center", color="w")
fig.colorbar(im, ax=ax, label="CV mean error (px)")
ax.set_title("nose tip, 3 person-grouped folds")
fig.tight_layout()

plt.show()
