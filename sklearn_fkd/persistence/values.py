"""JSON values of a model file: numbers, strings, tuples, dicts, arrays, the torch
optimizer classes a file may name, and the two value objects a parameter may hold (a
:class:`~sklearn_fkd.keypoints.KeypointSchema`, an :class:`~sklearn_fkd.augment.Augment`);
each checked on the way in (known parameters, sizes, magnitudes) before anything is
built. The model's own classes (pipelines, steps, estimators) are :mod:`.tree`'s."""

from __future__ import annotations

import importlib
import inspect
import math
import numbers
from pathlib import Path

import numpy as np

from ..augment import Augment
from ..keypoints import KeypointSchema

__all__ = [
    "ALLOWED_TYPES",
    "VALUE_CLASSES",
    "check_magnitudes",
    "check_parameter_names",
    "decode_params",
    "decode_value",
    "encode_params",
    "encode_value",
]

#: torch optimizer classes a model file may name (the ``optimizer`` parameter)
ALLOWED_TYPES = (
    "torch.optim.adamw.AdamW",
    "torch.optim.adam.Adam",
    "torch.optim.sgd.SGD",
    "torch.optim.rmsprop.RMSprop",
)

#: the objects a parameter's value may be, by their public dotted names
VALUE_CLASSES = {
    "sklearn_fkd.keypoints.KeypointSchema": KeypointSchema,
    "sklearn_fkd.augment.Augment": Augment,
}
#: the largest number any parameter of a model file may hold, and smaller limits for
#: the parameters whose size a prediction's cost follows (an image side, refinement
#: rounds, crop scales and margins)
MAX_PARAMETER_MAGNITUDE = 1e6
PARAMETER_LIMITS = {
    ("Resize", "size"): 8192,
    ("KeypointPipeline", "refine"): 8,
    ("KeypointPipeline", "test_scales"): 4.0,
    ("FaceCrop", "margin"): 4.0,
}
#: dtypes an array in ``model.json`` may have
ALLOWED_DTYPES = ("float64", "float32", "int64", "int32", "bool", "uint8")
#: the most items of one array in ``model.json``
MAX_ARRAY_ITEMS = 10**6
#: the largest magnitude of a fitted number of a pipeline step
MAX_FITTED_MAGNITUDE = 1e6


def encode_value(value, where: str):
    """A parameter or fitted value as JSON (tuples, arrays, schemas, classes tagged)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, tuple):
        return {"tuple": [encode_value(v, where) for v in value]}
    if isinstance(value, list):
        return [encode_value(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: encode_value(v, where) for k, v in value.items()}}
    if isinstance(value, np.ndarray):
        return {
            "ndarray": np.where(np.isnan(value), None, value).tolist()
            if value.dtype.kind == "f"
            else value.tolist(),
            "dtype": str(value.dtype),
            "shape": list(value.shape),
        }
    if isinstance(value, KeypointSchema):
        return {
            "class": "sklearn_fkd.keypoints.KeypointSchema",
            "params": {
                "name": value.name,
                "point_names": list(value.point_names),
                "flip_pairs": None
                if value.flip_pairs is None
                else [list(p) for p in value.flip_pairs],
                "normalizing_pair": None
                if value.normalizing_pair is None
                else list(value.normalizing_pair),
                "edges": [list(e) for e in value.edges],
            },
        }
    if isinstance(value, Augment):
        return {
            "class": "sklearn_fkd.augment.Augment",
            "params": encode_params(value.get_params(deep=False), where),
        }
    if isinstance(value, type):
        name = f"{value.__module__}.{value.__qualname__}"
        if name not in ALLOWED_TYPES:
            raise TypeError(f"{where} is the class {name}, which a model file cannot name")
        return {"type": name}
    raise TypeError(
        f"{where} holds a {type(value).__name__}, which the safe model format cannot "
        "store; save with save_model(..., format='pickle')"
    )


def encode_params(params: dict, where: str) -> dict:
    """Parameters as JSON (skorch's private ``_params_to_validate`` left out)."""
    return {k: encode_value(v, f"{where}.{k}") for k, v in params.items() if not k.startswith("_")}


def _array(value: dict, path: Path, where: str) -> np.ndarray:
    """An ``{"ndarray", "dtype", "shape"}`` node, checked before anything is allocated."""
    dtype, shape = value.get("dtype"), value.get("shape")
    if dtype not in ALLOWED_DTYPES:
        raise ValueError(
            f"{path}: {where} is an array of dtype {dtype!r}; a model file's arrays are "
            f"{', '.join(ALLOWED_DTYPES)}"
        )
    if not (
        isinstance(shape, list)
        and len(shape) <= 4
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        and math.prod(shape) <= MAX_ARRAY_ITEMS
    ):
        raise ValueError(
            f"{path}: {where} has shape {shape!r}; arrays have up to 4 dimensions and "
            f"{MAX_ARRAY_ITEMS:,} items"
        )
    data = np.array(value["ndarray"], dtype=object)
    if data.shape != tuple(shape):
        raise ValueError(f"{path}: {where} holds {data.shape}, not the shape {shape} it declares")
    if dtype.startswith("float"):
        data = np.where(data == None, np.nan, data)  # noqa: E711 (NaN were stored as null)
    if not all(isinstance(v, (int, float)) for v in data.ravel()):
        raise ValueError(f"{path}: {where} holds values that are not numbers")
    return data.astype(dtype)


def decode_value(value, path: Path, where: str, key: str = ""):
    if isinstance(value, list):
        return [decode_value(v, path, where, key) for v in value]
    if not isinstance(value, dict):
        return value
    if "tuple" in value and isinstance(value["tuple"], list):
        return tuple(decode_value(v, path, where, key) for v in value["tuple"])
    if "dict" in value and isinstance(value["dict"], dict):
        return {k: decode_value(v, path, f"{where}.{k}", k) for k, v in value["dict"].items()}
    if "ndarray" in value:
        return _array(value, path, where)
    if "type" in value:
        name = value["type"]
        if name not in ALLOWED_TYPES or key != "optimizer":
            raise ValueError(
                f"{path}: {where} names the class {name!r}, which a model file may not name"
            )
        module, _, qualname = name.rpartition(".")
        return getattr(importlib.import_module(module), qualname)
    if "class" in value:
        return _decode_object(value, path, where)
    raise ValueError(f"{path}: {where} is an unreadable value {sorted(value)!r}")


def _decode_object(node: dict, path: Path, where: str):
    """A schema or an augmentation (:data:`VALUE_CLASSES`) from its checked parameters."""
    name = node.get("class")
    cls = VALUE_CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(
            f"{path}: {where} names the class {name!r}, which a parameter's value may not "
            f"be (allowed: {', '.join(VALUE_CLASSES)})"
        )
    params = decode_params(node, path, where)
    known = set(inspect.signature(cls).parameters)
    check_parameter_names(cls, params, known, path, where)
    try:
        return cls(**params)
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as exc:
        raise ValueError(f"{path}: {where} cannot be rebuilt: {exc}") from None


def decode_params(node: dict, path: Path, where: str) -> dict:
    """The decoded ``params`` object of a node (a class's constructor arguments)."""
    raw = node.get("params", {})
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: the parameters of {where} must be an object")
    return {k: decode_value(v, path, f"{where}.{k}", k) for k, v in raw.items()}


def check_parameter_names(
    cls: type, params: dict, known: set[str], path: Path, where: str, prefixes=()
) -> None:
    """Only parameter names in ``known`` (or ``prefix__name`` with a prefix of
    ``prefixes``), each value's numbers within the class's limit
    (:data:`PARAMETER_LIMITS`, else :data:`MAX_PARAMETER_MAGNITUDE`)."""
    for key in params:
        prefix = key.split("__", 1)[0] if "__" in key else None
        if key in known or prefix in prefixes:
            continue
        raise ValueError(
            f"{path}: {where} has the parameter {key!r}, which {cls.__name__} does not take "
            "from a model file"
        )
    for key, value in params.items():
        limit = PARAMETER_LIMITS.get((cls.__name__, key), MAX_PARAMETER_MAGNITUDE)
        check_magnitudes(value, limit, path, f"{where}.{key}")


def check_magnitudes(value, limit: float, path: Path, where: str) -> None:
    """Every number in a parameter's value (tuples, lists and dicts included) at most
    ``limit`` in magnitude."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        if len(value) > 10_000:
            raise ValueError(f"{path}: {where} holds {len(value):,} values")
        for item in value:
            check_magnitudes(item, limit, path, where)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not (math.isfinite(value) and abs(value) <= limit):
            raise ValueError(
                f"{path}: {where} is {value!r}; a model file's value here is at most {limit:g}"
            )
