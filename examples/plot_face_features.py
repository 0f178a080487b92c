"""
From points to head pose, eye openness and aligned faces
========================================================

What people do with landmarks next, as scikit-learn steps after a keypoint model: the
IMM face database's six views of one person (Nordstrøm et al. 2004: views 3 and 4 turned
"approx. 30 degrees" to the person's right and left), their 68 points from the shipped
``ibug68_fast`` through its own detector, then

* :class:`~sklearn_fkd.face_features.HeadPose`: yaw, pitch and roll in degrees, from a
  3D mean face fitted to the nose and eye points;
* :class:`~sklearn_fkd.face_features.EyeAspectRatio`: each eye's opening;
* :class:`~sklearn_fkd.preprocessing.FaceAligner`: the upright, eye-aligned 112x112 crop a
  face recogniser expects.

Then the pose features feed a classifier, as any scikit-learn features do: "is the head
turned?" on all 40 people, cross-validated by person.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_fkd import load_pretrained
from sklearn_fkd.datasets import load_imm_faces
from sklearn_fkd.face_features import EyeAspectRatio, HeadPose
from sklearn_fkd.plotting import plot_faces
from sklearn_fkd.preprocessing import FaceAligner

imm = load_imm_faces()
points = load_pretrained("ibug68_fast").predict(list(imm.images))  # (240, 136)
pose = HeadPose().fit_transform(points)  # (240, 3): yaw, pitch, roll
eyes = EyeAspectRatio().fit_transform(points)  # (240, 2)
person = np.flatnonzero(imm.groups == 7)  # one person's six views
aligned = FaceAligner(size=112).fit_transform(imm.images[person], points[person])

fig, axes = plt.subplots(2, 6, figsize=(12, 4.4), height_ratios=[1, 0.9], layout="constrained")
for column, i in enumerate(person):
    plot_faces(imm.images[i], points[i : i + 1], ax=axes[0, column])
    yaw, pitch, roll = pose[i]
    axes[0, column].set_title(
        f"view {imm.image_type[i]}: yaw {yaw:+.0f}\npitch {pitch:+.0f} roll {roll:+.0f}"
        f"  EAR {eyes[i].mean():.2f}",
        fontsize=8,
    )
    axes[1, column].imshow(aligned[column])
    axes[1, column].set_axis_off()
axes[1, 0].set_title("FaceAligner(size=112)", fontsize=8, loc="left")

# %%
# Head turned or not, from the size of the angles, on people the classifier has not seen:
turned = np.isin(imm.image_type, [3, 4])
clf = make_pipeline(HeadPose(), FunctionTransformer(np.abs), LogisticRegression())
scores = cross_val_score(clf, points, turned, groups=imm.groups, cv=GroupKFold(5))
print(f"turned-head accuracy by person-grouped 5-fold CV: {scores.mean():.3f}")
print("median yaw of views 3 and 4:", np.median(pose[imm.image_type == 3, 0]).round(1),
      np.median(pose[imm.image_type == 4, 0]).round(1))  # fmt: skip
plt.show()
