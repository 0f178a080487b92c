"""
Fine-tune ibug68 onto your own points
=====================================

IMM's 58 points (Nordstrøm et al. 2004; Stegmann et al. 2003) are a schema the
pretrained model has never seen. ``FaceKeypointRegressor(weights="ibug68")`` keeps its
encoder, starts a new last layer from the training set's mean shape, and trains
everything for a few epochs (the first with the encoder frozen). Faces are cropped with
a :class:`~sklearn_fkd.preprocessing.FaceCrop` (the true points at fit, the detector on
the test photos), so the model predicts on IMM's full 640x480 photos. Trained on
persons 1-5 only (30 photos), tested on persons 33-40, beside the same model from
scratch and the mean shape. ``benchmarks/bench_imm.py --finetune --small`` trains
longer on all 32 training persons.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_fkd import IMM58, FaceKeypointRegressor, make_keypoint_pipeline
from sklearn_fkd.datasets import load_imm_faces
from sklearn_fkd.metrics import mean_keypoint_error
from sklearn_fkd.plotting import plot_keypoints
from sklearn_fkd.preprocessing import FaceCrop, Grayscale, Resize

imm = load_imm_faces()
train, test = imm.groups <= 5, imm.groups >= 33


def fitted(**params):
    est = FaceKeypointRegressor(max_epochs=8, random_state=0, schema=IMM58, **params)
    pipe = make_keypoint_pipeline(FaceCrop(), Grayscale(), Resize(128), est)
    return pipe.fit(imm.images[train], imm.keypoints[train])


tuned = fitted(weights="ibug68", freeze_encoder=1)
scratch = fitted(backbone="cnn")
truth = imm.keypoints[test]
errors = {
    "fine-tuned from ibug68": mean_keypoint_error(truth, tuned.predict(imm.images[test])),
    "the same from scratch": mean_keypoint_error(truth, scratch.predict(imm.images[test])),
    "mean training shape": mean_keypoint_error(
        truth, np.tile(imm.keypoints[train].mean(axis=0), (len(truth), 1))
    ),
}
for name, px in errors.items():
    print(f"{name:>24}: {px:5.1f} px (640x480)")

fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), layout="constrained")
photo = imm.images[test][0]
plot_keypoints(photo, truth[0], tuned.predict([photo])[0], schema=IMM58, ax=axes[0],
               title="fine-tuned (red) and truth")  # fmt: skip
plot_keypoints(photo, truth[0], scratch.predict([photo])[0], schema=IMM58, ax=axes[1],
               title="from scratch")  # fmt: skip
axes[2].barh(list(errors), list(errors.values()), color=["#e8351e", "#1e88e8", "grey"])
axes[2].set_xlabel("mean error, px (persons 33-40)")
plt.show()
