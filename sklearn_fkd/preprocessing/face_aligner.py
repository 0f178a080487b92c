"""The aligned face crop (:class:`FaceAligner`): each face turned upright and scaled so
that its eyes sit at fixed places, as face recognisers expect their input."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..geometry import AffineMap
from ..keypoints import check_keypoints, infer_schema, to_points
from ..utils.validation import check_consistent_length, check_images, check_number
from .steps import GeometricStep, check_image_size

__all__ = ["FaceAligner"]

#: the points of each eye (the subject's right, then left) whose mean is its centre, by
#: the number of points of the schema; other schemas align their normalising pair
_EYE_POINTS = {68: (tuple(range(36, 42)), tuple(range(42, 48)))}


def eye_centres(points: np.ndarray) -> np.ndarray:
    """The subject's right and left eye centres ``(n, 2, 2)`` of points ``(n, K, 2)``:
    the means of the eye outlines for 68 points, else the schema's normalising pair
    (the outer eye corners of IMM's 58, the eye centres of Kaggle's 15)."""
    k = points.shape[1]
    if k in _EYE_POINTS:
        right, left = _EYE_POINTS[k]
        return np.stack([points[:, right].mean(axis=1), points[:, left].mean(axis=1)], axis=1)
    pair = infer_schema(k).normalizing_pair
    if pair is None:
        raise ValueError(f"FaceAligner needs the eyes: a schema of {k} points names none")
    right, left = sorted(pair, key=lambda i: np.nanmean(points[:, i, 0]))
    return points[:, [right, left]]


class FaceAligner(GeometricStep):
    """Warp each face to an upright crop of one size, its eyes level at fixed places.

    The similarity transform (rotation, one scale, shift) that puts the subject's right
    eye centre at ``((W - 1) / 2 - d / 2, e)`` and the left at ``((W - 1) / 2 + d / 2, e)``,
    with ``d = eye_distance * W`` and ``e = eye_height * H``, is applied to the image
    (bilinear, black outside the photo, low-pass filtered first when it shrinks); the
    keypoints move with it and predictions come back through its inverse, as with the
    other geometric steps. The eyes come from the faces' keypoints: ``y`` at fit, and the
    ``keypoints=`` parameter of ``transform`` (routed to it by a
    :class:`~sklearn_fkd.pipeline.KeypointPipeline`'s ``predict``, as ``boxes=`` is to a
    ``FaceCrop``), e.g. the points a model predicted on the photos.

    Parameters
    ----------
    size : int or (int, int), default=(112, 112)
        ``(height, width)`` of the aligned crops.
    eye_distance : float, default=0.32
        Distance between the eye centres, as a fraction of the width (ArcFace's 112x112
        template puts them 35 px apart).
    eye_height : float, default=0.46
        Height of the eyes above the top edge, as a fraction of the height.

    Examples
    --------
    >>> from sklearn_fkd.preprocessing import FaceAligner
    >>> aligned = FaceAligner(size=112).transform(photos, keypoints=points)  # doctest: +SKIP
    >>> aligned.shape  # doctest: +SKIP
    (n, 112, 112, 3)
    """

    __metadata_request__transform = {"keypoints": True}  # noqa: RUF012 (sklearn's convention)

    def __init__(self, size=(112, 112), eye_distance: float = 0.32, eye_height: float = 0.46):
        self.size = size
        self.eye_distance = eye_distance
        self.eye_height = eye_height

    def _out_shape(self) -> tuple[int, int]:
        return check_image_size(self.size, low=2)

    def fit(self, X, y=None):
        """Check the parameters and ``X``. Returns ``self``."""
        self._out_shape()
        check_number(self.eye_distance, "eye_distance", low=0, high=1, low_inclusive=False)
        check_number(self.eye_height, "eye_height", low=0, high=1)
        return super().fit(X, y)

    def point_map(self, X, y=None, keypoints=None) -> AffineMap:
        """The similarity map of each image to its aligned crop.

        Parameters
        ----------
        X : images
        y : array-like of shape (n, 2K) or (n, K, 2), optional
            True keypoints (fit time).
        keypoints : array-like of shape (n, 2K) or (n, K, 2), optional
            The faces' keypoints when ``y`` is not given.

        Raises
        ------
        ValueError
            Neither given, or a face whose eye points are missing.
        """
        images = check_images(X)
        given = y if y is not None else keypoints
        if given is None:
            raise ValueError(
                "FaceAligner needs each face's keypoints to find its eyes: y at fit, "
                "keypoints= at transform (e.g. a keypoint model's predictions)"
            )
        points = to_points(check_keypoints(given, name="keypoints"))
        check_consistent_length(X=images, keypoints=points)
        eyes = eye_centres(points)  # (n, 2, 2)
        missing = np.flatnonzero(np.isnan(eyes).any(axis=(1, 2)))
        if len(missing):
            raise ValueError(f"FaceAligner: the eye points of face {missing[0]} are missing")
        h, w = self._out_shape()
        span = eyes[:, 1] - eyes[:, 0]
        length = np.linalg.norm(span, axis=1)
        if not (length > 0).all():
            raise ValueError("FaceAligner: a face's two eyes are at the same place")
        scale = float(self.eye_distance) * w / length
        cos, sin = span[:, 0] / length * scale, span[:, 1] / length * scale
        linear = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], axis=1)
        middle = np.array([(w - 1) / 2, float(self.eye_height) * h])
        shift = middle - np.einsum("nij,nj->ni", linear, eyes.mean(axis=1))
        matrix = np.concatenate([linear, shift[:, :, None]], axis=2)
        return AffineMap(matrix, np.tile([h, w], (len(images), 1)))

    def warp(self, X, point_map: AffineMap) -> np.ndarray:
        """The aligned crops, ``(n, H', W'[, C])`` in ``X``'s dtype."""
        images = check_images(X)
        inverse = point_map.inverse_matrix()
        out = [
            _warp_image(image, inverse[i], tuple(point_map.out_shapes[i]))
            for i, image in enumerate(images)
        ]
        return np.stack(out)

    def transform(self, X, keypoints=None):
        """Aligned crops of ``X`` by its faces' ``keypoints`` (see :meth:`point_map`)."""
        return super().transform(X, keypoints=keypoints)

    def fit_transform(self, X, y=None, keypoints=None):
        """Fit, then align by ``y`` (or ``keypoints``)."""
        return super().fit_transform(X, y, keypoints=keypoints)


def _warp_image(image: np.ndarray, inverse: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``image`` sampled at ``inverse @ [x, y, 1]`` of each output pixel (bilinear, zero
    outside), low-pass filtered first by as much as the map shrinks it.

    Only the part of the photo the crop samples is filtered and read: the corners' pixels
    and a margin of the filter's reach (scipy truncates its Gaussian at 4 sigma) and the
    bilinear neighbour, so the result is that of the whole photo at the cost of the face.
    """
    shrink = 1.0 / np.sqrt(abs(np.linalg.det(inverse[:, :2])))  # output px per input px
    sigma = 0.5 * (1.0 / shrink - 1.0) if shrink < 1.0 else 0.0
    h, w = shape
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], float)
    sampled = corners @ inverse.T  # (4, 2) input (x, y)
    reach = int(np.ceil(4 * sigma)) + 2
    low = np.maximum(np.floor(sampled.min(axis=0)) - reach, 0).astype(int)
    high = np.minimum(np.ceil(sampled.max(axis=0)) + reach + 1, image.shape[1::-1]).astype(int)
    if (high <= low).any():  # the crop lies wholly outside the photo
        return np.zeros(
            (*shape, *image.shape[2:]), dtype=np.uint8 if image.dtype == np.uint8 else np.float32
        )
    data = image[low[1] : high[1], low[0] : high[0]].astype(np.float32)
    if sigma > 0:  # a Gaussian as wide as the output pixels, against aliasing
        data = ndimage.gaussian_filter(data, sigma=(sigma, sigma) + (0,) * (data.ndim - 2))
    # scipy indexes (row, column): swap x and y of the map, from the region's corner
    matrix = inverse[::-1, [1, 0]]
    offset = inverse[::-1, 2] - low[::-1]
    if data.ndim == 3:  # the channels map to themselves
        matrix = np.block([[matrix, np.zeros((2, 1))], [np.zeros((1, 2)), np.ones((1, 1))]])
        offset = np.append(offset, 0.0)
        shape = (*shape, data.shape[2])
    out = ndimage.affine_transform(data, matrix, offset, output_shape=shape, order=1, cval=0.0)
    if image.dtype == np.uint8:
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    return out.astype(np.float32)
