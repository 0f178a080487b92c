"""Head pose (:class:`~sklearn_fkd.face_features.HeadPose`) on faces whose pose is known
roughly: the IMM face database's six views of 40 people (Nordstrøm et al. 2004; its note:
views 3 and 4 are the face "rotated approx. 30 degrees" to the person's right and left,
the others frontal), from each shipped 68-point model's points through its own detector.
Per view: the median yaw, pitch and roll and the yaw's spread. No 3D ground truth is in
the shared data, so this is a check of sign and size, not an accuracy figure.

    python benchmarks/bench_head_pose.py
"""

from __future__ import annotations

import warnings

import numpy as np

from _common import save_results
from sklearn_fkd import load_pretrained
from sklearn_fkd.datasets import load_imm_faces
from sklearn_fkd.face_features import HeadPose
from sklearn_fkd.utils import format_table

VIEWS = {
    1: "frontal, neutral",
    2: "frontal, happy",
    3: "turned ~30 deg to the person's right",
    4: "turned ~30 deg to the person's left",
    5: "frontal, spot light",
    6: "frontal, joker",
}


def main() -> None:
    warnings.simplefilter("ignore")
    imm = load_imm_faces()
    rows = []
    for name in ("ibug68", "ibug68_fast"):
        points = load_pretrained(name).predict(list(imm.images))
        angles = HeadPose().fit_transform(points)
        for view, label in VIEWS.items():
            yaw, pitch, roll = angles[imm.image_type == view].T
            rows.append(
                {
                    "model": name,
                    "view": f"{view}: {label}",
                    "faces": len(yaw),
                    "yaw_median": round(float(np.median(yaw)), 1),
                    "yaw_q25": round(float(np.percentile(yaw, 25)), 1),
                    "yaw_q75": round(float(np.percentile(yaw, 75)), 1),
                    "pitch_median": round(float(np.median(pitch)), 1),
                    "roll_median": round(float(np.median(roll)), 1),
                }
            )
    print(format_table(rows))
    save_results("head_pose", rows)


if __name__ == "__main__":
    main()
