"""Keypoint schemas and the two array layouts of keypoints.

Keypoints are pixel coordinates, ``x`` = column and ``y`` = row, 0-based with pixel
centres at integers (see the user guide). An array of keypoints is either

* *flat*: shape ``(n_samples, 2 * n_points)``, interleaved ``x0, y0, x1, y1, ...``
  (Kaggle's and scikit-learn's multi-output layout), or
* *points*: shape ``(n_samples, n_points, 2)``.

NaN marks a missing point. A :class:`KeypointSchema` names the points, says which
points swap under a horizontal flip and which pair normalises the NME.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "IBUG68",
    "IMM58",
    "KAGGLE15",
    "NOSE",
    "WEBMORPH189",
    "KeypointSchema",
    "check_keypoints",
    "conversion_groups",
    "convert_keypoints",
    "infer_schema",
    "to_flat",
    "to_points",
]


@dataclass(frozen=True)
class KeypointSchema:
    """Names and symmetry of a set of facial keypoints.

    Parameters
    ----------
    name : str
        Short identifier, e.g. ``"ibug68"``.
    point_names : sequence of str, length n_points
        One unique name per point, in the order the coordinates are stored.
    flip_pairs : sequence of (int, int), or None, default=None
        Pairs of point indices that swap under a horizontal flip (the subject's
        left eye becomes the right eye); points not listed map to themselves. ``()``
        declares that every point is its own mirror image (points on the face's
        midline). None: not known, so the estimators' augmentation does not flip images
        of this schema (flipping with wrong pairs teaches mirrored positions under the
        wrong labels).
    normalizing_pair : (int, int) or None
        Two point indices whose distance in the ground truth normalises the NME
        (outer eye corners for 68 points, eye centres for Kaggle's 15). ``None``
        when the schema has no such pair; NME then needs ``normalize="bbox"``.
    edges : sequence of (int, int)
        Lines to draw between points in plots (a skeleton); optional.

    Examples
    --------
    >>> from sklearn_fkd.keypoints import KeypointSchema
    >>> eyes = KeypointSchema("eyes", ["left_eye", "right_eye"], flip_pairs=[(0, 1)])
    >>> eyes.n_points
    2
    >>> eyes.flip_permutation.tolist()
    [1, 0]
    """

    name: str
    point_names: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...] | None = None
    normalizing_pair: tuple[int, int] | None = None
    edges: tuple[tuple[int, int], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.point_names)
        if not names:
            raise ValueError(f"schema {self.name!r} needs at least one point name")
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"schema {self.name!r} has duplicate point names: {dup}")
        k = len(names)
        pairs = None
        if self.flip_pairs is not None:
            pairs = tuple((int(a), int(b)) for a, b in self.flip_pairs)
        seen: set[int] = set()
        for a, b in pairs or ():
            if not (0 <= a < k and 0 <= b < k) or a == b:
                raise ValueError(
                    f"schema {self.name!r}: flip pair ({a}, {b}) is not a pair of two "
                    f"different point indices in [0, {k})"
                )
            if a in seen or b in seen:
                raise ValueError(
                    f"schema {self.name!r}: point {a if a in seen else b} appears in "
                    "more than one flip pair"
                )
            seen.update((a, b))
        norm = self.normalizing_pair
        if norm is not None:
            norm = (int(norm[0]), int(norm[1]))
            if not all(0 <= i < k for i in norm) or norm[0] == norm[1]:
                raise ValueError(
                    f"schema {self.name!r}: normalizing_pair {norm} is not two different "
                    f"point indices in [0, {k})"
                )
        edges = tuple((int(a), int(b)) for a, b in self.edges)
        for a, b in edges:
            if not (0 <= a < k and 0 <= b < k):
                raise ValueError(f"schema {self.name!r}: edge ({a}, {b}) is out of range")
        object.__setattr__(self, "point_names", names)
        object.__setattr__(self, "flip_pairs", pairs)
        object.__setattr__(self, "normalizing_pair", norm)
        object.__setattr__(self, "edges", edges)

    @property
    def n_points(self) -> int:
        """Number of keypoints ``K``."""
        return len(self.point_names)

    @property
    def column_names(self) -> list[str]:
        """The ``2K`` column names of the flat layout: ``<name>_x, <name>_y, ...``."""
        return [f"{n}_{axis}" for n in self.point_names for axis in ("x", "y")]

    @property
    def flip_permutation(self) -> np.ndarray:
        """Index array ``p`` with ``flipped[:, i] = mirrored(original[:, p[i]])``.

        The identity where ``flip_pairs`` is None (not known).
        """
        perm = np.arange(self.n_points)
        for a, b in self.flip_pairs or ():
            perm[a], perm[b] = b, a
        return perm

    def index(self, name: str) -> int:
        """Index of the point called ``name``."""
        try:
            return self.point_names.index(name)
        except ValueError:
            raise KeyError(f"schema {self.name!r} has no point named {name!r}") from None

    @classmethod
    def generic(cls, n_points: int) -> KeypointSchema:
        """A schema of ``n_points`` anonymous points; how they mirror is not known."""
        if n_points < 1:
            raise ValueError(f"n_points must be >= 1, got {n_points}")
        return cls(f"generic{n_points}", tuple(f"p{i}" for i in range(n_points)))

    def __repr__(self) -> str:
        return f"KeypointSchema({self.name!r}, n_points={self.n_points})"


def _chain(idx: Sequence[int], closed: bool = False) -> list[tuple[int, int]]:
    edges = [(idx[i], idx[i + 1]) for i in range(len(idx) - 1)]
    if closed:
        edges.append((idx[-1], idx[0]))
    return edges


NOSE = KeypointSchema("nose", ("nose_tip",), flip_pairs=())
"""A single point: the nose tip."""

# -- IMM: 58 points on 7 paths (Nordstrøm et al. 2004). Paths as stored in the .asf files:
# jaw 0-12 (image left to right), subject's left eye 13-20 and right eye 21-28 (each
# outer corner -> upper lid -> inner corner -> lower lid), subject's left brow 29-33 and
# right brow 34-38 (inner -> outer end), mouth 39-46 (closed; 39 image-left corner), nose
# 47-57 (bridge down the image-left side, under the nostrils, up the image-right side).
# The flip pairs below were derived from the real mean shape (tests/test_keypoints.py
# re-derives them by mirroring it).
_IMM_PATHS = {
    "jaw": range(0, 13),
    "left_eye": range(13, 21),
    "right_eye": range(21, 29),
    "left_brow": range(29, 34),
    "right_brow": range(34, 39),
    "mouth": range(39, 47),
    "nose": range(47, 58),
}
IMM58 = KeypointSchema(
    "imm58",
    tuple(f"{path}_{i - idx.start}" for path, idx in _IMM_PATHS.items() for i in idx),
    flip_pairs=(
        *((i, 12 - i) for i in range(6)),
        *((13 + k, 21 + k) for k in range(8)),
        *((29 + k, 34 + k) for k in range(5)),
        (39, 43),
        (40, 42),
        (44, 46),
        *((47 + k, 57 - k) for k in range(5)),
    ),
    normalizing_pair=(13, 21),  # outer eye corners
    edges=tuple(
        e
        for path, idx in _IMM_PATHS.items()
        for e in _chain(list(idx), closed=path in ("left_eye", "right_eye", "mouth"))
    ),
)
"""IMM face database, 58 points (nose tip: index 52, between the nostrils)."""

# -- Kaggle Facial Keypoints: 15 points, the competition's 30 columns in its order.
# "left" is the subject's left, which appears on the image's right.
KAGGLE15 = KeypointSchema(
    "kaggle15",
    (
        "left_eye_center",
        "right_eye_center",
        "left_eye_inner_corner",
        "left_eye_outer_corner",
        "right_eye_inner_corner",
        "right_eye_outer_corner",
        "left_eyebrow_inner_end",
        "left_eyebrow_outer_end",
        "right_eyebrow_inner_end",
        "right_eyebrow_outer_end",
        "nose_tip",
        "mouth_left_corner",
        "mouth_right_corner",
        "mouth_center_top_lip",
        "mouth_center_bottom_lip",
    ),
    flip_pairs=((0, 1), (2, 4), (3, 5), (6, 8), (7, 9), (11, 12)),
    normalizing_pair=(0, 1),  # eye centres
    edges=((3, 2), (4, 5), (7, 6), (8, 9), (11, 13), (13, 12), (12, 14), (14, 11)),
)
"""Kaggle Facial Keypoints Detection, 15 points."""

# -- iBUG / 300-W 68 points (Sagonas et al.): 0-16 jaw (image left to right), 17-21
# subject's right brow, 22-26 left brow, 27-30 nose bridge, 31-35 nostrils, 36-41 right
# eye, 42-47 left eye, 48-59 outer lips, 60-67 inner lips.
_IBUG_PARTS = {
    "jaw": range(0, 17),
    "right_brow": range(17, 22),
    "left_brow": range(22, 27),
    "nose_bridge": range(27, 31),
    "nostrils": range(31, 36),
    "right_eye": range(36, 42),
    "left_eye": range(42, 48),
    "outer_lips": range(48, 60),
    "inner_lips": range(60, 68),
}
IBUG68 = KeypointSchema(
    "ibug68",
    tuple(f"{part}_{i - idx.start}" for part, idx in _IBUG_PARTS.items() for i in idx),
    flip_pairs=(
        *((i, 16 - i) for i in range(8)),
        *((17 + k, 26 - k) for k in range(5)),
        (31, 35),
        (32, 34),
        (36, 45),
        (37, 44),
        (38, 43),
        (39, 42),
        (40, 47),
        (41, 46),
        (48, 54),
        (49, 53),
        (50, 52),
        (55, 59),
        (56, 58),
        (60, 64),
        (61, 63),
        (65, 67),
    ),
    normalizing_pair=(36, 45),  # outer eye corners
    edges=tuple(
        e
        for part, idx in _IBUG_PARTS.items()
        for e in _chain(
            list(idx), closed=part in ("right_eye", "left_eye", "outer_lips", "inner_lips")
        )
    ),
)
"""iBUG / 300-W 68-point markup (also dlib's and the Udacity/YouTube Faces CSV)."""

# -- WebMorph's FRL template, 189 points (the Face Research Lab London Set, DeBruine &
# Jones 2017): 0-1 pupils (image-left, image-right), 2-9 and 10-17 the eye outlines,
# 18-33 lids and creases, 34-49 brows, 50-70 and 179-182 nose, 71-86 cheeks,
# 87-108 lips (94-98 and 99-103 the inner lips), 109-157 the head and jaw outline,
# 158-178 and 183-188 other contours. The flip pairs were derived by mirroring the mean
# shape of the London set, with the lips' coincident inner lines assigned by their
# template lines (tests/test_datasets.py re-derives them).
_WEBMORPH_FLIP_PAIRS = (
    (0, 1), (2, 10), (3, 17), (4, 16), (5, 15), (6, 14), (7, 13), (8, 12), (9, 11),
    (18, 27), (19, 26), (20, 25), (21, 24), (22, 23), (28, 33), (29, 32), (30, 31),
    (34, 43), (35, 42), (36, 41), (37, 40), (38, 39), (44, 49), (45, 48), (46, 47),
    (50, 56), (51, 57), (52, 58), (53, 59), (54, 60), (61, 66), (62, 67), (63, 68),
    (64, 69), (65, 70), (71, 82), (72, 81), (73, 80), (74, 79), (75, 78), (76, 77),
    (83, 86), (84, 85), (87, 93), (88, 92), (89, 91), (94, 98), (95, 97), (99, 103),
    (100, 102), (104, 108), (105, 107), (109, 112), (110, 113), (111, 114), (115, 120),
    (116, 121), (117, 122), (118, 123), (119, 124), (125, 133), (126, 132), (127, 131),
    (128, 130), (134, 144), (135, 143), (136, 142), (137, 141), (138, 140), (145, 157),
    (146, 156), (147, 155), (148, 154), (149, 153), (150, 152), (158, 161), (159, 162),
    (160, 163), (164, 167), (165, 168), (166, 169), (170, 172), (171, 173), (176, 178),
    (179, 182), (180, 181), (183, 184), (185, 187), (186, 188),
)  # fmt: skip
_WEBMORPH_LINES = (
    (2, 3, 4, 5, 6, 7, 8, 9, 2), (10, 11, 12, 13, 14, 15, 16, 17, 10),
    (18, 19, 20, 21, 22), (23, 24, 25, 26, 27), (18, 28, 29, 30, 22), (23, 31, 32, 33, 27),
    (34, 35, 36, 37, 38), (39, 40, 41, 42, 43), (44, 45, 46), (47, 48, 49),
    (50, 51, 52, 53, 54, 55), (56, 57, 58, 59, 60, 55), (61, 62, 63, 64, 65, 179, 180, 55),
    (66, 67, 68, 69, 70, 182, 181, 55), (71, 72, 73, 74, 75, 76), (77, 78, 79, 80, 81, 82),
    (71, 83, 84, 76), (77, 85, 86, 82), (87, 88, 89, 90, 91, 92, 93),
    (87, 94, 95, 96, 97, 98, 93), (87, 99, 100, 101, 102, 103, 93),
    (87, 104, 105, 106, 107, 108, 93), (109, 185, 110, 186, 111), (112, 187, 113, 188, 114),
    (109, 115, 116, 117, 118, 119, 111), (112, 120, 121, 122, 123, 124, 114),
    (109, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 112),
    (145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157), (158, 159, 160),
    (161, 162, 163), (164, 165, 166), (167, 168, 169), (170, 171), (172, 173), (174, 175),
    (176, 177, 178), (126, 145), (132, 157), (145, 183, 184, 157), (111, 125, 126),
    (126, 127, 128, 129, 130, 131, 132), (132, 133, 114),
)  # fmt: skip
WEBMORPH189 = KeypointSchema(
    "webmorph189",
    tuple(f"frl{i:03d}" for i in range(189)),
    flip_pairs=_WEBMORPH_FLIP_PAIRS,
    normalizing_pair=(0, 1),  # the pupils
    edges=tuple(e for line in _WEBMORPH_LINES for e in _chain(list(line))),
)
"""WebMorph's FRL template, 189 points (the London set); normalised by the pupils."""

BUILTIN_SCHEMAS = {s.n_points: s for s in (NOSE, KAGGLE15, IMM58, IBUG68, WEBMORPH189)}


def infer_schema(n_points: int) -> KeypointSchema:
    """The built-in schema with ``n_points`` points, else a generic one.

    1 -> :data:`NOSE`, 15 -> :data:`KAGGLE15`, 58 -> :data:`IMM58`, 68 -> :data:`IBUG68`,
    189 -> :data:`WEBMORPH189`,
    any other count -> :meth:`KeypointSchema.generic` (flip pairs not known, no NME pair).
    """
    return BUILTIN_SCHEMAS.get(int(n_points)) or KeypointSchema.generic(int(n_points))


# -- layouts -------------------------------------------------------------------------


#: the largest magnitude of a keypoint coordinate, in pixels (no photo is that large; a
#: 1e308 would overflow the training loss)
MAX_COORDINATE = 1e7


def check_keypoints(y, *, n_points: int | None = None, name: str = "y") -> np.ndarray:
    """Validate keypoints and return a float64 copy in the flat ``(n, 2K)`` layout.

    Parameters
    ----------
    y : array-like of shape (n_samples, 2K) or (n_samples, K, 2)
        Pixel coordinates; NaN marks a missing point.
    n_points : int, optional
        The expected ``K``.
    name : str
        Name used in error messages.

    Returns
    -------
    ndarray of shape (n_samples, 2K), float64
        A new array; the input is never modified.

    Raises
    ------
    TypeError
        If ``y`` is not numeric.
    ValueError
        On a wrong rank, an odd column count, infinite values or values beyond
        ``MAX_COORDINATE`` pixels, a point with exactly one
        missing coordinate, or a point count other than ``n_points``.
    """
    arr = np.asarray(y)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real-valued, got dtype {arr.dtype}")
    arr = np.array(arr, dtype=np.float64, copy=True)
    if arr.ndim == 3:
        if arr.shape[2] != 2:
            raise ValueError(
                f"{name} of shape {arr.shape} must be (n_samples, n_points, 2) when 3-D"
            )
        arr = arr.reshape(arr.shape[0], -1)
    elif arr.ndim == 2:
        if arr.shape[1] % 2:
            raise ValueError(
                f"{name} has {arr.shape[1]} columns; the flat layout needs an even number "
                "(x0, y0, x1, y1, ...)"
            )
    else:
        raise ValueError(
            f"{name} must have shape (n_samples, 2K) or (n_samples, K, 2), got {arr.shape}"
        )
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains infinite values; use NaN for missing points")
    with np.errstate(invalid="ignore"):
        huge = np.abs(arr) > MAX_COORDINATE
    if huge.any():
        i, j = np.argwhere(huge)[0]
        raise ValueError(
            f"{name}[{i}, {j}] = {arr[i, j]:g}: keypoints are pixel coordinates, at most "
            f"{MAX_COORDINATE:g} in magnitude"
        )
    nan = np.isnan(arr)
    half = nan[:, 0::2] != nan[:, 1::2]
    if half.any():
        row, pt = np.argwhere(half)[0]
        raise ValueError(
            f"{name}[{row}] has point {pt} with only one coordinate missing; "
            "a missing point must have both x and y NaN"
        )
    if n_points is not None and arr.shape[1] != 2 * n_points:
        raise ValueError(f"{name} has {arr.shape[1] // 2} points, expected {n_points}")
    return arr


def to_points(y) -> np.ndarray:
    """Flat ``(n, 2K)`` keypoints as ``(n, K, 2)`` (a view when possible).

    >>> import numpy as np
    >>> to_points(np.array([[1.0, 2.0, 3.0, 4.0]])).tolist()
    [[[1.0, 2.0], [3.0, 4.0]]]
    """
    arr = np.asarray(y)
    if arr.ndim == 3 and arr.shape[2] == 2:
        return arr
    if arr.ndim != 2 or arr.shape[1] % 2:
        raise ValueError(f"expected keypoints of shape (n, 2K), got {arr.shape}")
    return arr.reshape(arr.shape[0], -1, 2)


def to_flat(y) -> np.ndarray:
    """``(n, K, 2)`` keypoints as flat ``(n, 2K)`` (a view when possible).

    >>> import numpy as np
    >>> to_flat(np.array([[[1.0, 2.0], [3.0, 4.0]]])).tolist()
    [[1.0, 2.0, 3.0, 4.0]]
    """
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] % 2 == 0:
        return arr
    if arr.ndim != 3 or arr.shape[2] != 2:
        raise ValueError(f"expected keypoints of shape (n, K, 2), got {arr.shape}")
    return arr.reshape(arr.shape[0], -1)


# -- conversion between schemas ------------------------------------------------------

# Each target point is the mean of a group of source points (one index = a copy).
_CONVERSIONS: dict[tuple[str, str], list[list[int]]] = {
    ("ibug68", "kaggle15"): [
        list(range(42, 48)),  # left_eye_center: mean of the subject's left eye contour
        list(range(36, 42)),  # right_eye_center
        [42],
        [45],  # left eye inner, outer corner
        [39],
        [36],  # right eye inner, outer corner
        [22],
        [26],  # left eyebrow inner, outer end
        [21],
        [17],  # right eyebrow inner, outer end
        [30],  # nose tip
        [54],
        [48],  # mouth left (subject's), right corner
        [51],
        [57],  # top lip centre (outer contour), bottom lip centre
    ],
    ("ibug68", "nose"): [[30]],
    ("imm58", "nose"): [[52]],
    ("kaggle15", "nose"): [[10]],
}


def conversion_groups(source: KeypointSchema, target: KeypointSchema) -> list[list[int]] | None:
    """For each point of ``target``, the points of ``source`` it is the mean of (the
    table :func:`convert_keypoints` uses); the identity for one schema, None when no
    conversion is known.

    >>> conversion_groups(IBUG68, NOSE)
    [[30]]
    """
    if source == target:
        return [[k] for k in range(source.n_points)]
    groups = _CONVERSIONS.get((source.name, target.name))
    return None if groups is None else [list(g) for g in groups]


def convert_keypoints(y, source: KeypointSchema, target: KeypointSchema) -> np.ndarray:
    """Convert keypoints from one schema to another where the points correspond.

    Supported: IBUG68 -> KAGGLE15 (eye centres are the means of the eye contours),
    IBUG68 -> NOSE, IMM58 -> NOSE, KAGGLE15 -> NOSE, and any schema to itself.
    A target point built from a source point that is missing is missing (NaN).

    Parameters
    ----------
    y : array-like of shape (n_samples, 2 * source.n_points) or (n_samples, K, 2)
    source, target : KeypointSchema

    Returns
    -------
    ndarray of shape (n_samples, 2 * target.n_points), or (n_samples, K', 2) when ``y``
    was given in the points layout.
    """
    arr = np.asarray(y)
    points_layout = arr.ndim == 3
    flat = check_keypoints(arr, n_points=source.n_points)
    if source == target:
        out = flat
    else:
        try:
            groups = _CONVERSIONS[(source.name, target.name)]
        except KeyError:
            known = ", ".join(f"{a} -> {b}" for a, b in _CONVERSIONS)
            raise ValueError(
                f"no conversion from {source.name!r} to {target.name!r}; known: {known}"
            ) from None
        pts = to_points(flat)
        out = to_flat(np.stack([pts[:, g, :].mean(axis=1) for g in groups], axis=1))
    return to_points(out).copy() if points_layout else out
