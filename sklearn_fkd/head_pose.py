"""Head pose from 68 points: yaw, pitch and roll of a 3D mean face fitted to them
(:class:`~sklearn_fkd.face_features.HeadPose` is the transformer).

The 3D mean face (``models/mean_face_ibug68.csv``, 68 points of the iBUG / 300-W
scheme) was recovered from the 2D annotations of the 300-W HELEN and LFPW training
faces (Sagonas et al. 2013) by rigid factorisation (Tomasi & Kanade 1992) and
alternating least squares, made mirror-symmetric and scaled to unit outer-eye-corner
distance: ``tools/make_mean_face.py`` remakes it. Its axes: ``x`` from the subject's
right eye to their left (the photo's right), ``y`` down, ``z`` away from the camera
(the nose tip nearest).

:func:`fit_head_pose` fits that face to each row of points under a scaled orthographic
projection (``points ~ s R[:2] X + t``) by least squares: a linear affine fit, its
nearest scaled rotation, then Gauss-Newton steps on the rotation, scale and shift, all
faces at once. Only the 21 points of the nose and eyes (27-47) are used: they move least
with expression, and the jaw outline's points slide along the face as it turns (300-W
marks the visible outline), so they are no fixed 3D points.

Angles, in degrees, of ``R = Rz(roll) Rx(-pitch) Ry(-yaw)`` (the face turned by yaw
about its vertical axis, then pitched, then rolled in the image plane):

* ``yaw`` > 0: the nose points to the photo's right (the subject turns to their left);
* ``pitch`` > 0: the nose points up;
* ``roll`` > 0: the face turns clockwise in the photo as shown (y down).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import numpy as np

__all__ = ["angles_to_rotation", "fit_head_pose", "mean_face", "rotation_angles"]

#: the points a pose is fitted on: the nose (27-35) and the eyes (36-47)
POSE_POINTS = np.arange(27, 48)
#: Gauss-Newton steps after the affine start (converged to float precision on exact data)
_STEPS = 15


@cache
def _shipped_mean_face() -> np.ndarray:
    text = resources.files("sklearn_fkd").joinpath("models", "mean_face_ibug68.csv")
    face = np.loadtxt(text.open(), delimiter=",", comments="#")
    face.setflags(write=False)
    return face


def mean_face() -> np.ndarray:
    """The shipped 3D mean face: ``(68, 3)`` float64, unit outer-eye-corner distance
    (a new array)."""
    return _shipped_mean_face().copy()


def angles_to_rotation(yaw, pitch, roll) -> np.ndarray:
    """Rotations ``(n, 3, 3)`` of angles in degrees (arrays of shape ``(n,)``), in this
    module's convention; :func:`rotation_angles` inverts it."""
    a, b, c = (
        np.radians(np.atleast_1d(np.asarray(v, dtype=np.float64))) for v in (yaw, pitch, roll)
    )
    zero, one = np.zeros_like(a), np.ones_like(a)

    def stack(rows):
        return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)

    ry = stack(
        [[np.cos(-a), zero, np.sin(-a)], [zero, one, zero], [-np.sin(-a), zero, np.cos(-a)]]
    )
    rx = stack(
        [[one, zero, zero], [zero, np.cos(-b), -np.sin(-b)], [zero, np.sin(-b), np.cos(-b)]]
    )
    rz = stack([[np.cos(c), -np.sin(c), zero], [np.sin(c), np.cos(c), zero], [zero, zero, one]])
    return rz @ rx @ ry


def rotation_angles(rotations: np.ndarray) -> np.ndarray:
    """Yaw, pitch and roll in degrees ``(n, 3)`` of rotations ``(n, 3, 3)``."""
    r = np.asarray(rotations, dtype=np.float64)
    yaw = np.arctan2(r[:, 2, 0], r[:, 2, 2])
    pitch = -np.arcsin(np.clip(r[:, 2, 1], -1.0, 1.0))
    roll = np.arctan2(-r[:, 0, 1], r[:, 1, 1])
    return np.degrees(np.stack([yaw, pitch, roll], axis=1))


def _skew(v: np.ndarray) -> np.ndarray:
    """``[v]x`` of vectors ``(..., 3)``: ``(..., 3, 3)``."""
    zero = np.zeros(v.shape[:-1])
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return np.stack(
        [np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], -2
    )


def _rodrigues(w: np.ndarray) -> np.ndarray:
    """The rotations ``exp([w]x)`` of rotation vectors ``(n, 3)``."""
    theta = np.linalg.norm(w, axis=1)[:, None, None]
    k = _skew(w / np.maximum(theta[:, 0], 1e-300))
    return np.eye(3) + np.sin(theta) * k + (1 - np.cos(theta)) * (k @ k)


def _projection(rotation, scale, shift, face: np.ndarray) -> np.ndarray:
    """``face`` ``(k, 3)`` seen under each scaled orthographic projection: ``(n, k, 2)``."""
    return scale[:, None, None] * np.einsum("nij,kj->nki", rotation[:, :2], face) + shift[:, None]


def fit_head_pose(points, face: np.ndarray | None = None, subset=POSE_POINTS):
    """Fit a 3D face to 2D points under scaled orthographic projection.

    Parameters
    ----------
    points : ndarray of shape (n, K, 2)
        NaN for missing points (a face with fewer than 6 of ``subset`` gets NaN).
    face : ndarray of shape (K, 3), optional
        The 3D points (default: :func:`mean_face`).
    subset : array of int, default=POSE_POINTS
        The points fitted.

    Returns
    -------
    rotation : ndarray of shape (n, 3, 3)
    scale : ndarray of shape (n,)
    shift : ndarray of shape (n, 2)
    rms : ndarray of shape (n,)
        Root-mean-square distance of the fitted points to ``points``, in their units.
    """
    face = mean_face() if face is None else np.asarray(face, dtype=np.float64)
    X = face[subset]  # (k, 3)
    p = np.asarray(points, dtype=np.float64)[:, subset]  # (n, k, 2)
    seen = ~np.isnan(p).any(axis=2)  # (n, k)
    w = seen.astype(np.float64)[..., None]
    p = np.where(seen[..., None], p, 0.0)
    n = len(p)
    # affine start, per face over its visible points: p ~ [X 1] A
    design = np.concatenate([X, np.ones((len(X), 1))], axis=1)  # (k, 4)
    normal = np.einsum("ki,nk,kj->nij", design, w[..., 0], design)
    enough = seen.sum(axis=1) >= 6
    normal[~enough] = np.eye(4)
    affine = np.linalg.solve(normal, np.einsum("ki,nkd->nid", design, w * p))  # (n, 4, 2)
    u, sv, vt = np.linalg.svd(np.swapaxes(affine[:, :3], 1, 2), full_matrices=False)
    rows = u @ vt  # (n, 2, 3): orthonormal rows nearest the affine map
    rotation = np.concatenate([rows, np.cross(rows[:, 0], rows[:, 1])[:, None]], axis=1)
    scale, shift = sv.mean(axis=1), affine[:, 3]
    for _ in range(_STEPS):
        r2 = rotation[:, :2]  # (n, 2, 3)
        projected = np.einsum("nij,kj->nki", r2, X)  # (n, k, 2), before scale and shift
        residual = (p - _projection(rotation, scale, shift, X)) * w
        # d/dw of s R2 (X + w x X) = -s R2 [X]x ; d/ds = R2 X ; d/dt = I
        j_rot = -scale[:, None, None, None] * np.einsum("nij,kjl->nkil", r2, _skew(X))
        j_scale = projected[..., None]
        j_shift = np.broadcast_to(np.eye(2), (n, len(X), 2, 2))
        jac = np.concatenate([j_rot, j_scale, j_shift], axis=3) * w[..., None]  # (n,k,2,6)
        jac = jac.reshape(n, -1, 6)
        jtj = np.einsum("nai,naj->nij", jac, jac) + 1e-12 * np.eye(6)
        gradient = np.einsum("nai,na->ni", jac, residual.reshape(n, -1))
        step = np.linalg.solve(jtj, gradient[..., None])[..., 0]
        rotation = rotation @ _rodrigues(step[:, :3])
        scale, shift = scale + step[:, 3], shift + step[:, 4:]
    error = np.linalg.norm(p - _projection(rotation, scale, shift, X), axis=2)
    rms = np.sqrt((np.where(seen, error, 0.0) ** 2).sum(axis=1) / np.maximum(seen.sum(axis=1), 1))
    for values in (rotation, scale, shift, rms):
        values[~enough] = np.nan
    return rotation, scale, shift, rms
