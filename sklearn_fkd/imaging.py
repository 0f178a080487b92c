"""Image helpers: resizing, grey conversion, stacking, diagonals.

Pixel centres sit at integer coordinates (the library's convention), so resizing an
image of width ``W`` to ``W'`` maps ``x`` to ``(x + 0.5) * W' / W - 0.5``: the image's
outer edges, at -0.5 and ``W - 0.5``, map onto each other
(:func:`sklearn_fkd.geometry.resize_map`).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

__all__ = ["image_diagonals", "resize_image", "stack_if_uniform", "to_gray"]


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize one ``(H, W)`` or ``(H, W, C)`` image to ``size = (width, height)``.

    uint8 images use PIL's antialiased bilinear filter and stay uint8; float images are
    resized per channel in float32.
    """
    width, height = int(size[0]), int(size[1])
    if image.shape[1] == width and image.shape[0] == height:
        return image.copy()
    if image.dtype == np.uint8:
        return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))
    img = np.asarray(image, dtype=np.float32)
    channels = img[..., None] if img.ndim == 2 else img
    out = np.stack(
        [
            np.asarray(
                Image.fromarray(channels[..., c], mode="F").resize((width, height), Image.BILINEAR)
            )
            for c in range(channels.shape[-1])
        ],
        axis=-1,
    )
    return out[..., 0] if img.ndim == 2 else out


def to_gray(image: np.ndarray) -> np.ndarray:
    """ITU-R 601-2 luma of an ``(H, W, 3)`` image, same dtype family; grey passes through."""
    if image.ndim == 2:
        return image
    if image.dtype == np.uint8:
        return np.asarray(Image.fromarray(image[..., :3]).convert("L"))
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (image[..., :3].astype(np.float32) @ weights).astype(np.float32)


def stack_if_uniform(images: list[np.ndarray]) -> np.ndarray | list[np.ndarray]:
    """One array when all images share a shape, else the list unchanged."""
    if images and all(im.shape == images[0].shape for im in images):
        return np.stack(images)
    return images


def image_diagonals(X) -> np.ndarray:
    """``sqrt(H^2 + W^2)`` of each image of an ``(n, H, W[, C])`` array or a list, shape (n,)."""
    if isinstance(X, np.ndarray) and X.ndim >= 3:
        return np.full(len(X), math.hypot(*X.shape[1:3]))
    return np.array([math.hypot(*np.shape(image)[:2]) for image in X], dtype=np.float64)
