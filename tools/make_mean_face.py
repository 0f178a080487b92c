"""Remake ``sklearn_fkd/models/mean_face_ibug68.csv``: the 3D mean face of
:mod:`sklearn_fkd.head_pose`, from the 2D annotations of the 300-W HELEN and LFPW
training faces (Sagonas et al. 2013) in ``$SKLEARN_FKD_DATA/helen_afw_68pt``.

1. Rigid factorisation (Tomasi & Kanade 1992): the centred shapes of all faces, stacked
   ``(2N, 68)``, have rank about 3 (a rigid face seen under scaled orthographic
   projection); the rank-3 factors are upgraded to a metric shape by the constraints
   that each face's two projection rows are orthogonal and of equal length.
2. Alternating least squares: each face's pose is fitted to the current shape on the
   nose and eye points (:func:`~sklearn_fkd.head_pose.fit_head_pose`), then each 3D
   point is the least-squares solution over all faces; until the error settles.
3. Axes as the module says (``x`` from the right eye's outer corner to the left's, ``y``
   down, ``z`` away from the camera, the nose tip nearest), mirror-symmetric (averaged
   with its mirror image, left and right points swapped), unit outer-eye-corner
   distance.

    python tools/make_mean_face.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sklearn_fkd.datasets import get_data_home, read_pts
from sklearn_fkd.head_pose import fit_head_pose
from sklearn_fkd.keypoints import IBUG68

OUT = Path(__file__).resolve().parents[1] / "sklearn_fkd" / "models" / "mean_face_ibug68.csv"
ROUNDS = 20


def factorised(shapes: np.ndarray) -> np.ndarray:
    """The metric rank-3 shape ``(68, 3)`` of centred 2D shapes ``(N, 68, 2)``."""
    stacked = shapes.transpose(0, 2, 1).reshape(-1, shapes.shape[1])  # rows x1, y1, x2, ...
    u, s, vt = np.linalg.svd(stacked, full_matrices=False)
    motion, shape = u[:, :3] * np.sqrt(s[:3]), np.sqrt(s[:3])[:, None] * vt[:3]

    def quadratic(a, b):  # a L b^T as a linear function of L's six entries
        return np.stack(
            [a[:, 0] * b[:, 0], a[:, 0] * b[:, 1] + a[:, 1] * b[:, 0],
             a[:, 0] * b[:, 2] + a[:, 2] * b[:, 0], a[:, 1] * b[:, 1],
             a[:, 1] * b[:, 2] + a[:, 2] * b[:, 1], a[:, 2] * b[:, 2]], axis=1,
        )  # fmt: skip

    rows_x, rows_y = motion[0::2], motion[1::2]
    system = np.concatenate(
        [quadratic(rows_x, rows_x) - quadratic(rows_y, rows_y), quadratic(rows_x, rows_y)]
    )
    l = np.linalg.svd(system)[2][-1]  # noqa: E741
    gram = np.array([[l[0], l[1], l[2]], [l[1], l[3], l[4]], [l[2], l[4], l[5]]])
    gram = gram if np.trace(gram) > 0 else -gram
    return np.linalg.solve(np.linalg.cholesky(gram), shape).T


def oriented(face: np.ndarray) -> np.ndarray:
    """The face in the module's axes, symmetric, unit outer-eye-corner distance."""
    face = face - face.mean(axis=0)
    x = face[45] - face[36]
    x /= np.linalg.norm(x)
    down = face[8] - (face[36] + face[45]) / 2
    y = down - x * (down @ x)
    y /= np.linalg.norm(y)
    face = face @ np.stack([x, y, np.cross(x, y)]).T
    if face[30, 2] > face[[36, 45], 2].mean():  # the depth reflection factorisation allows
        face[:, 2] *= -1
    face = (face + face[IBUG68.flip_permutation] * [-1.0, 1.0, 1.0]) / 2
    return face / np.linalg.norm(face[45] - face[36])


def main() -> None:
    root = get_data_home() / "helen_afw_68pt"
    files = sorted(root.glob("helen_trainset/*.pts")) + sorted(root.glob("lfpw_trainset/*.pts"))
    shapes = np.stack([read_pts(f) for f in files])
    shapes = shapes - shapes.mean(axis=1, keepdims=True)
    interocular = np.linalg.norm(shapes[:, 45] - shapes[:, 36], axis=1)
    face = factorised(shapes)
    for round_ in range(ROUNDS):
        rotation, scale, shift, rms = fit_head_pose(shapes, face)
        motion = scale[:, None, None] * rotation[:, :2]  # (N, 2, 3)
        targets = (shapes - shift[:, None]).transpose(0, 2, 1).reshape(-1, shapes.shape[1])
        face = np.linalg.lstsq(motion.reshape(-1, 3), targets, rcond=None)[0].T
        print(f"round {round_}: median fit error {np.median(rms / interocular):.4f} x IOD")
    face = oriented(face)
    header = (
        "3D mean face, 68 iBUG / 300-W points (x, y, z): x to the photo's right, y down, "
        "z away from the camera; unit outer-eye-corner distance\n"
        f"made by tools/make_mean_face.py from the 2D annotations of {len(files)} 300-W "
        "HELEN and LFPW training faces (Sagonas et al. 2013)\n"
        "research and non-commercial use only, as the annotations it comes from "
        "(models/WEIGHTS_LICENCE.txt)"
    )
    np.savetxt(OUT, face, fmt="%.6f", delimiter=",", header=header)
    print(f"wrote {OUT}: nose tip {face[30].round(3)}, chin {face[8].round(3)}")


if __name__ == "__main__":
    main()
