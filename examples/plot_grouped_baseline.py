"""
Mean-shape baseline with person-grouped cross-validation
========================================================

IMM has six images per person (Nordstrøm et al. 2004). A plain ``KFold`` puts a
person's other images in the training folds, which flatters any model that can
recognise a face; ``GroupKFold`` with the loader's ``groups`` keeps persons apart.
Even scikit-learn's ``DummyRegressor`` (the mean shape) works with the library's scorers.
"""

import matplotlib.pyplot as plt
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import GroupKFold, KFold, cross_validate

from sklearn_fkd.datasets import load_imm_faces
from sklearn_fkd.metrics import get_scorer
from sklearn_fkd.plotting import plot_keypoints

imm = load_imm_faces(as_gray=True)
X = imm.images.reshape(len(imm.images), -1)  # the baseline ignores the pixels
scoring = {"nme": get_scorer("neg_nme"), "pck": get_scorer("pck", alpha=0.1)}
for name, cv in [("GroupKFold", GroupKFold(5)), ("KFold", KFold(5, shuffle=True, random_state=0))]:
    res = cross_validate(
        DummyRegressor(), X, imm.keypoints, groups=imm.groups, cv=cv, scoring=scoring
    )
    print(f"{name:10s}  NME {-res['test_nme'].mean():.4f}  PCK@0.1 {res['test_pck'].mean():.3f}")

mean_shape = imm.keypoints.mean(axis=0)
ax = plot_keypoints(
    imm.images[0],
    imm.keypoints[0],
    mean_shape,
    show_indices=True,
    title="person 1: truth (green), mean shape (red)",
)

plt.show()
