"""Image helpers: reading files, resizing, grey conversion, stacking, diagonals.

Pixel centres sit at integer coordinates (the library's convention), so resizing an
image of width ``W`` to ``W'`` maps ``x`` to ``(x + 0.5) * W' / W - 0.5``: the image's
outer edges, at -0.5 and ``W - 0.5``, map onto each other
(:func:`sklearn_fkd.geometry.resize_map`).
"""

from __future__ import annotations

import math
import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "IMAGE_SUFFIXES",
    "image_diagonals",
    "read_image",
    "resize_image",
    "stack_if_uniform",
    "to_gray",
]

#: the file suffixes read as images (by folder listings and the command line)
IMAGE_SUFFIXES = (
    ".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".bmp", ".tif", ".tiff", ".webp", ".gif"
)  # fmt: skip


def read_image(path: str | os.PathLike, as_gray: bool = False) -> np.ndarray:
    """Decode one image file to uint8, ``(H, W, 3)`` RGB or ``(H, W)`` grey, as it is
    displayed.

    The EXIF orientation is applied (as :func:`PIL.ImageOps.exif_transpose` does), so a
    phone photo stored sideways is read upright and points are in the displayed frame.
    16-bit images (PNG, TIFF) are scaled to 8 bits (``round(v / 257)``), not clipped.
    Grey uses PIL's ITU-R 601-2 luma (``L = 0.299 R + 0.587 G + 0.114 B``).

    Raises
    ------
    ValueError
        Naming the file when it is not a readable image (corrupt or truncated), or is
        larger than PIL's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``).
    """
    try:
        with Image.open(path) as im:
            return _to_uint8(ImageOps.exif_transpose(im), as_gray)
    except Image.DecompressionBombError as exc:
        raise ValueError(
            f"cannot read image {path}: it has more pixels than PIL's limit of "
            f"{Image.MAX_IMAGE_PIXELS:,} x 2 (a decompression bomb?); raise "
            "PIL.Image.MAX_IMAGE_PIXELS if the file is trusted"
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"cannot read image {path}: {exc}") from exc


#: PIL modes of one channel of more than 8 bits, and the largest value of each
_WIDE_MODES = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535}


def _to_uint8(im: Image.Image, as_gray: bool) -> np.ndarray:
    """A PIL image as uint8 RGB or grey; wide grey values scaled, not clipped."""
    if im.mode in _WIDE_MODES:
        wide = np.asarray(im, dtype=np.float64)
        grey = np.clip(np.round(wide * 255.0 / _WIDE_MODES[im.mode]), 0, 255).astype(np.uint8)
        return grey if as_gray else np.repeat(grey[..., None], 3, axis=2)
    if im.mode == "F":
        raise ValueError(f"{im.mode!r} (floating-point) images are not photos; convert them")
    return np.asarray(im.convert("L" if as_gray else "RGB"))


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
