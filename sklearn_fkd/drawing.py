"""Keypoints drawn into the pixels of a photo (PIL, no matplotlib): what the command line
writes per photo, fast enough for every frame of a video. :mod:`sklearn_fkd.plotting`
makes matplotlib figures instead."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .keypoints import KeypointSchema, infer_schema

__all__ = ["FACE_COLOURS", "draw_faces"]

#: the colour of each face, in order (RGB), repeating after the last
FACE_COLOURS = ((232, 53, 30), (30, 136, 232), (27, 191, 58), (232, 162, 30), (162, 30, 232))


def draw_faces(
    image,
    faces,
    boxes=None,
    schema: KeypointSchema | None = None,
    radius: float | None = None,
) -> np.ndarray:
    """A copy of ``image`` with every face's points, skeleton and box drawn in.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, 3)
        uint8 pixels (a grey image is drawn on in colour).
    faces : list of array-like of shape (K, 2) or (2K,)
        The points of each face in the image's pixels; NaN points are not drawn.
    boxes : array-like of shape (m, 4), optional
        Each face's box ``(x0, y0, x1, y1)``; NaN rows are not drawn.
    schema : KeypointSchema, optional
        Whose ``edges`` are drawn as lines (inferred from the point count when None).
    radius : float, optional
        Of each point's dot, in pixels (default: 0.4 % of the image diagonal, at least 1).

    Returns
    -------
    ndarray of shape (H, W, 3), uint8
    """
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8:
        raise TypeError(f"draw_faces draws on uint8 images, got {pixels.dtype}")
    canvas = Image.fromarray(pixels).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    if radius is None:
        radius = max(1.0, 0.004 * float(np.hypot(*pixels.shape[:2])))
    width = max(1, round(radius / 2))
    for i, points in enumerate(faces):
        colour = FACE_COLOURS[i % len(FACE_COLOURS)]
        xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        edges = (schema or infer_schema(len(xy))).edges
        for a, b in edges:
            if np.isfinite(xy[[a, b]]).all():
                draw.line([tuple(xy[a]), tuple(xy[b])], fill=colour, width=width)
        for x, y in xy[np.isfinite(xy).all(axis=1)]:
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour)
        if boxes is not None and np.isfinite(boxes[i]).all():
            draw.rectangle([float(v) for v in boxes[i]], outline=colour, width=width)
    return np.asarray(canvas)
