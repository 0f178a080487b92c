"""Keypoint-aware preprocessing steps: :class:`FaceCrop`, :class:`FaceAligner`,
:class:`Resize`, :class:`Grayscale` and :class:`Standardize`.

The geometric steps (``FaceCrop``, ``FaceAligner``, ``Resize``) move the keypoints with
the image: each gives a :class:`~sklearn_fkd.geometry.PointMap` per batch (an
:class:`~sklearn_fkd.geometry.AffineMap` for the aligner, which rotates), the exact map
of every sample's pixel coordinates. The protocol :class:`~sklearn_fkd.pipeline.KeypointPipeline`
relies on, for a step that moves pixels:

* ``point_map(X, y=None, **params) -> PointMap`` (or ``AffineMap``): where each
  sample's pixels go. ``y`` is given at fit only (a crop then follows the true points).
* ``warp(X, point_map) -> images``: the images moved by that map.
* ``transform_keypoints(X, y, **params)`` and ``inverse_transform_keypoints(X, y,
  **params)``: points through the map and back, for direct use.

Intensity-only steps (``Grayscale``, ``Standardize`` and any ordinary scikit-learn
transformer) leave the keypoints where they are.

Images are ``(n, H, W)`` or ``(n, H, W, C)`` arrays, or lists of ``(H, W[, C])`` arrays
of different sizes (:func:`~sklearn_fkd.utils.check_images` states the rules); a step
returns one array when its outputs share a shape and a list otherwise.
"""

from .face_aligner import FaceAligner
from .face_crop import FaceCrop
from .steps import Grayscale, Resize, Standardize

__all__ = ["FaceAligner", "FaceCrop", "Grayscale", "Resize", "Standardize"]
