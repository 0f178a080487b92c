"""Input validation: the one image validator, one length check, parameter checks.

scikit-learn keeps these in ``sklearn.utils.validation``; this is the library's
counterpart. Every step, estimator and function that takes images calls
:func:`check_images`, so the rules below hold everywhere:

* images are ``(n, H, W)`` or ``(n, H, W, C)`` arrays (``C`` in 1..4, channels last)
  or a list of ``(H, W)`` / ``(H, W, C)`` arrays, which may differ in size;
* pixels are real numbers: uint8 (0..255) as they come from image files; other integer
  types must lie in 0..255 and are converted to uint8; floats are taken as they are
  (already scaled, e.g. to [0, 1], or standardised) and must be finite;
* a single image (``(H, W)``, or ``(H, W, 3)`` read as a stack of grey images) is
  refused with the fix (``[image]``) in the message;
* image file paths (``str`` or ``pathlib.Path``, one or a list) are read as uint8 RGB.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence

import numpy as np

from ..imaging import read_image

__all__ = [
    "AnyOf",
    "ImageList",
    "Interval",
    "IsCallable",
    "IsNumber",
    "Options",
    "TupleOf",
    "check_consistent_length",
    "check_images",
    "check_in",
    "check_number",
    "validate_parameters",
]


class ImageList(list):
    """Images that :func:`check_images` has validated: a list of ``(H, W[, C])`` arrays.

    :func:`check_images` returns an ``ImageList`` unchanged, so a pipeline validates its
    input once and its steps do not repeat the work.

    Attributes
    ----------
    array : ndarray of shape (n, H, W[, C]) or None
        The array the images are views of, when the caller passed one (kept so that
        stacking them again is not needed).
    """

    array: np.ndarray | None = None

    @classmethod
    def of_array(cls, array: np.ndarray) -> ImageList:
        """The images of an ``(n, H, W[, C])`` array, as views."""
        out = cls(array)
        out.array = array
        return out

    def as_given(self) -> np.ndarray | list[np.ndarray]:
        """The array the images came as, else a plain list: what a transformer that
        knows nothing of ``ImageList`` expects."""
        return self.array if self.array is not None else list(self)


def _check_dtype(dtype, name: str) -> None:
    if dtype.kind in "OVSUbM" or not np.issubdtype(dtype, np.number):
        raise TypeError(
            f"{name} must hold real-valued numeric pixels (uint8 0..255 or floats), got "
            f"dtype {dtype}"
        )
    if np.issubdtype(dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real-valued numeric pixels, got dtype {dtype}")


def _as_uint8(values: np.ndarray, name: str) -> np.ndarray:
    """Integer pixels other than uint8: checked to lie in 0..255, then uint8."""
    lo, hi = values.min(), values.max()
    if lo < 0 or hi > 255:
        raise ValueError(
            f"integer {name} must lie in 0..255, found {lo}..{hi}; pass floats for other ranges"
        )
    return values.astype(np.uint8)


def _check_channels(shape: tuple[int, ...], name: str) -> None:
    if len(shape) == 3 and shape[2] not in (1, 2, 3, 4):
        hint = " (channels first? use (H, W, C))" if shape[0] in (1, 3) else ""
        raise ValueError(f"{name} has {shape[2]} channels in its last axis{hint}")


def check_images(X, name: str = "X") -> ImageList:
    """Validate images (see the module docs for the rules).

    Parameters
    ----------
    X : ndarray of shape (n, H, W) or (n, H, W, C), list of (H, W[, C]) arrays, a
        torch tensor of the same layout, or image file paths (one, or a list)
    name : str, default="X"
        Named in error messages.

    Returns
    -------
    ImageList
        The images as views of the caller's arrays where possible (never written to);
        integer pixels other than uint8 become uint8 copies. An ``ImageList`` passed in
        is returned as it is.

    Raises
    ------
    TypeError
        Pixels that are not real numbers; ``X`` that is not an array or a list.
    ValueError
        An empty set, a single image, wrong dimensions, an empty image, NaN or infinite
        float pixels, integer pixels outside 0..255.
    """
    if isinstance(X, ImageList):
        return X
    if type(X).__module__.startswith("torch"):
        X = X.detach().cpu().numpy()
    if isinstance(X, np.ndarray):
        return _check_image_array(X, name)
    if isinstance(X, (str, os.PathLike)):
        X = [X]
    if not isinstance(X, (list, tuple)):
        raise TypeError(
            f"{name} must be an array, a list of images or image paths, got {type(X).__name__}"
        )
    if len(X) == 0:
        raise ValueError(f"{name} is empty")
    images = ImageList()
    for i, image in enumerate(X):
        if isinstance(image, (str, os.PathLike)):
            image = read_image(image)  # files: decoded to uint8 RGB
        im = np.asarray(image)
        label = f"{name}[{i}]"
        _check_dtype(im.dtype, label)
        if im.ndim not in (2, 3) or min(im.shape[:2]) == 0:
            raise ValueError(f"{label} must have shape (H, W) or (H, W, C), got {im.shape}")
        _check_channels(im.shape, label)
        if np.issubdtype(im.dtype, np.floating):
            if not np.isfinite(im).all():
                raise ValueError(f"{label} contains NaN or infinite pixels")
        elif im.dtype != np.uint8:
            im = _as_uint8(im, label)
        images.append(im)
    return images


def _check_image_array(X: np.ndarray, name: str) -> ImageList:
    _check_dtype(X.dtype, name)
    if X.ndim == 2:
        raise ValueError(
            f"{name} of shape {X.shape} is one grey image; pass a list [image] or "
            "image[None] of shape (1, H, W)"
        )
    if X.ndim == 3 and X.shape[2] in (3, 4) and min(X.shape[:2]) > 4:
        raise ValueError(
            f"{name} of shape {X.shape} looks like one colour image (H, W, {X.shape[2]}), "
            f"which would be read as {X.shape[0]} grey images {X.shape[2]} pixels wide; "
            "pass a list [image] or image[None]"
        )
    if X.ndim not in (3, 4):
        raise ValueError(f"{name} must have shape (n, H, W) or (n, H, W, C), got {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if min(X.shape[1:3]) == 0:
        raise ValueError(f"{name} holds empty images of shape {X.shape[1:]}")
    if X.ndim == 4:
        _check_channels(X.shape[1:], name)
    if np.issubdtype(X.dtype, np.floating):
        if not np.isfinite(X).all():
            raise ValueError(f"{name} contains NaN or infinite pixels")
    elif X.dtype != np.uint8:
        X = _as_uint8(X, name)
    return ImageList.of_array(X)


def check_consistent_length(**named) -> int:
    """Check that the named inputs have one entry per image; return that number.

    ``None`` values are skipped. ``X`` counts images, anything else rows.

    Examples
    --------
    >>> check_consistent_length(X=[1, 2], y=[[0.0], [1.0]])
    2
    """
    lengths = {key: len(value) for key, value in named.items() if value is not None}
    if len(set(lengths.values())) > 1:

        def has(key: str) -> str:
            return f"{key} has {lengths[key]} {'images' if key == 'X' else 'rows'}"

        first, *others = lengths
        differ = [has(key) for key in others if lengths[key] != lengths[first]]
        raise ValueError(
            f"inconsistent numbers of samples: {has(first)} but {' and '.join(differ)}"
        )
    return next(iter(lengths.values()), 0)


def check_number(
    value,
    name: str,
    *,
    integer: bool = False,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    allowed: Sequence = (),
):
    """Check a numeric parameter (scikit-learn's ``check_scalar``, with one wording).

    Parameters
    ----------
    value
    name : str
        The parameter's name, e.g. ``"batch_size"``.
    integer : bool, default=False
        Require an integer (``bool`` is refused).
    low, high : float, optional
        Bounds.
    low_inclusive, high_inclusive : bool, default=True
    allowed : sequence, default=()
        Special values accepted as they are (e.g. ``-1`` for "all").

    Returns
    -------
    value

    Raises
    ------
    ValueError
        Naming the parameter, the value and the range expected.
    """
    if value in allowed and not isinstance(value, bool):
        return value
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and not integer:
        ok = bool(np.isfinite(value))
    if ok and low is not None:
        ok = value >= low if low_inclusive else value > low
    if ok and high is not None:
        ok = value <= high if high_inclusive else value < high
    if not ok:
        lo = "" if low is None else f"{'>=' if low_inclusive else '>'} {low}"
        hi = "" if high is None else f"{'<=' if high_inclusive else '<'} {high}"
        what = "an integer" if integer else "a number"
        bounds = " and ".join(b for b in (lo, hi) if b)
        extra = f" (or one of {list(allowed)})" if allowed else ""
        raise ValueError(
            f"{name} must be {what}{' ' + bounds if bounds else ''}{extra}, got {value!r}"
        )
    return value


def check_in(value, name: str, options: Sequence):
    """Check that a parameter is one of ``options``; return it."""
    if isinstance(value, str) or value is None:
        if value in options:
            return value
    elif any(value is o or value == o for o in options if not isinstance(o, str)):
        return value
    raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")


# -- declared parameter rules (scikit-learn's ``_parameter_constraints`` style) -----------


class Interval:
    """A number in a range: :func:`check_number`'s rule, declared.

    Parameters are :func:`check_number`'s; ``odd`` also asks for an odd integer.
    """

    def __init__(self, low=None, high=None, *, odd: bool = False, **options):
        self.low, self.high, self.odd, self.options = low, high, odd, options

    def check(self, value, name: str):
        check_number(value, name, low=self.low, high=self.high, **self.options)
        if self.odd and value % 2 == 0:
            raise ValueError(f"{name} must be odd, got {value}")
        return value


class Options:
    """One of the given values: :func:`check_in`'s rule, declared."""

    def __init__(self, *values):
        self.values = values

    def check(self, value, name: str):
        return check_in(value, name, self.values)


class TupleOf:
    """A non-empty tuple (or list, or 1-D array) each of whose items follows ``rule``; of
    ``length`` items when given."""

    def __init__(self, rule: Interval, what: str = "ints", length: int | None = None):
        self.rule, self.what, self.length = rule, what, length

    def check(self, value, name: str):
        items = tuple(value) if isinstance(value, (list, tuple, np.ndarray)) else ()
        if not items or (self.length is not None and len(items) != self.length):
            size = "non-empty" if self.length is None else f"{self.length}-item"
            raise ValueError(f"{name} must be a {size} tuple of {self.what}, got {value!r}")
        for item in items:
            self.rule.check(item, f"each of {name}")
        return value


class IsNumber:
    """Any real number, NaN included (scikit-learn's ``error_score=np.nan``)."""

    def check(self, value, name: str):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, got {value!r}")
        return value


class IsCallable:
    """Any callable (a function, or an object with ``__call__``)."""

    def check(self, value, name: str):
        if not callable(value):
            raise TypeError(f"{name} must be callable, got {value!r}")
        return value


class AnyOf:
    """A value that one of ``rules`` accepts; else a ValueError saying ``what`` is."""

    def __init__(self, *rules, what: str):
        self.rules, self.what = rules, what

    def check(self, value, name: str):
        for rule in self.rules:
            try:
                return rule.check(value, name)
            except (TypeError, ValueError):
                continue
        raise ValueError(f"{name} must be {self.what}, got {value!r}")


def validate_parameters(obj, constraints: dict, prefix: str = "") -> None:
    """Check each parameter of ``obj`` named in ``constraints`` against its rule (an
    :class:`Interval`, :class:`Options`, :class:`TupleOf`, :class:`IsCallable` or
    :class:`AnyOf`), in the table's order; messages name it ``prefix + name``.

    Raises
    ------
    ValueError
        From the first parameter that breaks its rule, naming it, its value and the rule.
    """
    for name, rule in constraints.items():
        rule.check(getattr(obj, name), prefix + name)
