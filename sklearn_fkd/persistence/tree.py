"""The model as a tree of JSON nodes: which classes, parameters and fitted attributes a
model file may hold, how each is written, and how each is checked on the way in.

A node names one of :func:`allowed_classes`, its constructor parameters (only those
``get_params`` knows, with the values that cannot run or read anything) and its fitted
attributes (only those in :data:`FITTED_ATTRIBUTES` for its class). A network's fitted
numbers (input statistics, image size, mean shape, prediction offset) are not in the
JSON: they are buffers of its weights, under the checksum.
"""

from __future__ import annotations

import importlib
import math
import numbers
from pathlib import Path

import numpy as np

__all__ = ["ALLOWED_TYPES", "FITTED_ATTRIBUTES", "allowed_classes", "decode", "encode"]

#: torch optimizer classes a model file may name (the ``optimizer`` parameter)
ALLOWED_TYPES = (
    "torch.optim.adamw.AdamW",
    "torch.optim.adam.Adam",
    "torch.optim.sgd.SGD",
    "torch.optim.rmsprop.RMSprop",
)

#: the fitted attributes written to ``model.json``, per class (by class name; a
#: keypoint estimator's numbers travel in its weights' ``fit_state`` buffers). Loading
#: refuses any other.
FITTED_ATTRIBUTES = {
    "KeypointNet": ("schema_", "network_spec_"),
    "FaceCrop": ("detector_", "detector_calibration_", "detector_hit_rate_", "detector_noise_"),
    "Standardize": ("mean_", "std_"),
}

#: parameters that hold training-time objects (callbacks, validation splits): a model
#: file records what they were, but a loaded model gets the defaults
TRAINING_ONLY = ("callbacks", "train_split")
#: the ``prefix__name`` parameters an estimator's node may hold (its network's and
#: optimizer's options, the batch iterators' arguments); others (``compile__``,
#: ``callbacks__``, ``criterion__``...) are refused
NESTED_PREFIXES = ("module", "optimizer", "iterator_train", "iterator_valid")
#: the values an estimator's parameter may have in a file where it could otherwise
#: make a later fit or load run or read something
RESTRICTED_VALUES = {
    "torch_load_kwargs": (None,),
    "callbacks": (None,),
    "train_split": (None,),
    "compile": (False, True),
    "predict_nonlinearity": ("auto", None),
    "use_caching": ("auto", False, True),
}
#: the largest number any parameter of a model file may hold, and smaller limits for
#: the parameters whose size a prediction's cost follows (an image side, refinement
#: rounds, crop scales and margins)
MAX_PARAMETER_MAGNITUDE = 1e6
PARAMETER_LIMITS = {
    ("Resize", "size"): 8192,
    ("FaceCrop", "refine"): 8,
    ("FaceCrop", "test_scales"): 4.0,
    ("FaceCrop", "margin"): 4.0,
}
#: dtypes an array in ``model.json`` may have
ALLOWED_DTYPES = ("float64", "float32", "int64", "int32", "bool", "uint8")
#: the most items of one array in ``model.json``
MAX_ARRAY_ITEMS = 10**6
#: the largest magnitude of a fitted number of a pipeline step
MAX_FITTED_MAGNITUDE = 1e6


def allowed_classes() -> dict[str, type]:
    """The classes a model file may name, by their public dotted names."""
    from ..augment import Augment
    from ..estimators import FaceKeypointRegressor, HeatmapKeypointEstimator, NoseRegressor
    from ..keypoints import KeypointSchema
    from ..pipeline import KeypointPipeline
    from ..preprocessing import FaceCrop, Grayscale, Resize, Standardize

    modules = {
        KeypointPipeline: "sklearn_fkd.pipeline",
        NoseRegressor: "sklearn_fkd.estimators",
        FaceKeypointRegressor: "sklearn_fkd.estimators",
        HeatmapKeypointEstimator: "sklearn_fkd.estimators",
        FaceCrop: "sklearn_fkd.preprocessing",
        Resize: "sklearn_fkd.preprocessing",
        Grayscale: "sklearn_fkd.preprocessing",
        Standardize: "sklearn_fkd.preprocessing",
        Augment: "sklearn_fkd.augment",
        KeypointSchema: "sklearn_fkd.keypoints",
    }
    return {f"{module}.{cls.__name__}": cls for cls, module in modules.items()}


def class_name(obj) -> str:
    for name, cls in allowed_classes().items():
        if type(obj) is cls:
            return name
    raise TypeError(
        f"a {type(obj).__module__}.{type(obj).__name__} cannot be stored in the safe "
        "model format (it holds this library's estimators, steps and pipelines); save "
        "it with save_model(..., format='pickle')"
    )


def fitted_attributes(cls: type) -> tuple[str, ...]:
    """The fitted attributes a file may hold for ``cls`` (see :data:`FITTED_ATTRIBUTES`)."""
    from ..estimators import KeypointNet

    key = "KeypointNet" if issubclass(cls, KeypointNet) else cls.__name__
    return FITTED_ATTRIBUTES.get(key, ())


# -- encoding ----------------------------------------------------------------------------


def _encode_value(value, where: str):
    """A parameter or fitted value as JSON (tuples, arrays, schemas, classes tagged)."""
    from ..augment import Augment
    from ..keypoints import KeypointSchema

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, tuple):
        return {"tuple": [_encode_value(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode_value(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: _encode_value(v, where) for k, v in value.items()}}
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
            "class": class_name(value),
            "params": _encode_params(value.get_params(deep=False), where),
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


def _encode_params(params: dict, where: str) -> dict:
    """Parameters as JSON (skorch's private ``_params_to_validate`` left out)."""
    return {
        k: _encode_value(v, f"{where}.{k}") for k, v in params.items() if not k.startswith("_")
    }


def encode(obj, where: str, weights: dict) -> dict:
    """The JSON node of a pipeline, step or estimator; networks' tensors go to ``weights``."""
    from ..estimators import KeypointNet
    from ..pipeline import KeypointPipeline
    from ..pretrained import is_pretrained_name

    name = class_name(obj)
    if isinstance(obj, KeypointPipeline):
        return {
            "class": name,
            "steps": [[n, encode(step, f"{where}.{n}", weights)] for n, step in obj.steps],
            "params": {"verbose": bool(obj.verbose)},
        }
    params = obj.get_params(deep=False)
    node = {"class": name}
    fitted = {k: getattr(obj, k) for k in fitted_attributes(type(obj)) if hasattr(obj, k)}
    if isinstance(obj, KeypointNet):
        dropped = {k: repr(params.pop(k)) for k in TRAINING_ONLY if params.get(k) is not None}
        if params.get("weights") is not None and not is_pretrained_name(params["weights"]):
            # a file the network started from: recorded, but a model file names no path
            dropped["weights"] = str(params.pop("weights"))
            params["weights"] = None
        if dropped:
            node["training_only"] = dropped
        node["params"] = _encode_params(params, where)
        if not hasattr(obj, "module_"):
            raise ValueError(f"{where} ({type(obj).__name__}) is not fitted: nothing to save")
        prefix = f"net{len({k.split('.')[0] for k in weights})}"
        for key, tensor in obj.module_.state_dict().items():
            weights[f"{prefix}.{key}"] = tensor.detach().cpu().contiguous()
        node["weights"] = prefix
        node["fitted"] = _encode_params(fitted, f"{where} (fitted)")
        node["history"] = [
            {
                k: v
                for k, v in epoch.items()
                if k != "batches" and isinstance(v, (int, float, bool, str))
            }
            for epoch in obj.history
        ]
        return node
    node["params"] = _encode_params(params, where)
    node["fitted"] = _encode_params(fitted, f"{where} (fitted)")
    return node


# -- decoding ----------------------------------------------------------------------------


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


def _decode_value(value, path: Path, where: str, key: str = ""):
    if isinstance(value, list):
        return [_decode_value(v, path, where, key) for v in value]
    if not isinstance(value, dict):
        return value
    if "tuple" in value and isinstance(value["tuple"], list):
        return tuple(_decode_value(v, path, where, key) for v in value["tuple"])
    if "dict" in value and isinstance(value["dict"], dict):
        return {k: _decode_value(v, path, f"{where}.{k}", k) for k, v in value["dict"].items()}
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
        return decode(value, path, {}, where)
    raise ValueError(f"{path}: {where} is an unreadable value {sorted(value)!r}")


def _known_parameters(cls: type) -> set[str]:
    """The constructor parameters of ``cls`` that ``get_params`` knows."""
    import inspect

    from ..keypoints import KeypointSchema
    from ..pipeline import KeypointPipeline

    if cls is KeypointSchema:
        return set(inspect.signature(cls).parameters)
    if cls is KeypointPipeline:
        return {"verbose"}
    return {k for k in cls().get_params(deep=False) if not k.startswith("_")}


def _check_parameters(cls: type, params, path: Path, where: str) -> None:
    """Parameter names ``get_params`` knows (and ``prefix__`` names of
    :data:`NESTED_PREFIXES` for an estimator), with values that cannot run or read
    anything."""
    from ..estimators import KeypointNet
    from ..pretrained import is_pretrained_name

    known = _known_parameters(cls)
    network = issubclass(cls, KeypointNet)
    for key in params:
        prefix = key.split("__", 1)[0] if "__" in key else None
        if key in known or (network and prefix in NESTED_PREFIXES):
            continue
        raise ValueError(
            f"{path}: {where} has the parameter {key!r}, which {cls.__name__} does not take "
            "from a model file"
        )
    for key, value in params.items():
        limit = PARAMETER_LIMITS.get((cls.__name__, key), MAX_PARAMETER_MAGNITUDE)
        _check_magnitudes(value, limit, path, f"{where}.{key}")
    if not network:
        return
    for key, allowed in RESTRICTED_VALUES.items():
        if key in params and not any(
            params[key] is a or (type(params[key]) is type(a) and params[key] == a)
            for a in allowed
        ):
            raise ValueError(
                f"{path}: {where}.{key} is {params[key]!r}; a model file may give it only "
                f"{' or '.join(map(repr, allowed))}"
            )
    weights = params.get("weights")
    if weights is not None and not (isinstance(weights, str) and is_pretrained_name(weights)):
        raise ValueError(
            f"{path}: {where}.weights is {weights!r}; a model file is self-contained and "
            "names no file (only a shipped model's name)"
        )
    if not isinstance(params.get("device", "auto"), str):
        raise ValueError(f"{path}: {where}.device must be a string")


def _check_magnitudes(value, limit: float, path: Path, where: str) -> None:
    """Every number in a parameter's value (tuples, lists and dicts included) at most
    ``limit`` in magnitude."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        if len(value) > 10_000:
            raise ValueError(f"{path}: {where} holds {len(value):,} values")
        for item in value:
            _check_magnitudes(item, limit, path, where)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not (math.isfinite(value) and abs(value) <= limit):
            raise ValueError(
                f"{path}: {where} is {value!r}; a model file's value here is at most {limit:g}"
            )


def _check_fitted_numbers(value, path: Path, where: str) -> None:
    """Every number of a step's fitted value finite and of sane magnitude."""
    items = value.ravel().tolist() if isinstance(value, np.ndarray) else [value]
    if isinstance(value, (list, tuple)):
        items = list(value)
    for item in items:
        if isinstance(item, (list, tuple, np.ndarray)):
            _check_fitted_numbers(item, path, where)
        elif isinstance(item, numbers.Real) and not isinstance(item, bool):
            if not (math.isfinite(item) and abs(item) <= MAX_FITTED_MAGNITUDE):
                raise ValueError(
                    f"{path}: {where} holds {item!r}; fitted numbers must be finite and "
                    f"at most {MAX_FITTED_MAGNITUDE:g} in magnitude"
                )


def _check_fitted(cls: type, fitted, path: Path, where: str) -> dict:
    if not isinstance(fitted, dict):
        raise ValueError(f"{path}: the fitted state of {where} must be an object")
    allowed = fitted_attributes(cls)
    for key in fitted:
        if key not in allowed:
            raise ValueError(
                f"{path}: {where} has the fitted attribute {key!r}, which {cls.__name__} "
                f"does not produce (it produces {', '.join(allowed) or 'none'})"
            )
    return {k: _decode_value(v, path, f"{where}.{k}", k) for k, v in fitted.items()}


def _check_face_crop(fitted: dict, path: Path, where: str) -> None:
    from ..detection import DETECTORS

    detector = fitted.get("detector_")
    if detector is not None and detector not in DETECTORS:
        raise ValueError(
            f"{path}: {where}.detector_ is {detector!r}; a model file names one of "
            f"{', '.join(DETECTORS)}"
        )
    calibration = fitted.get("detector_calibration_")
    if calibration is not None and (
        not isinstance(calibration, np.ndarray)
        or calibration.shape != (4,)
        or not (calibration[2:] > 0).all()
    ):
        raise ValueError(
            f"{path}: {where}.detector_calibration_ must be 4 numbers (dx, dy, sx, sy) "
            "with positive sizes"
        )
    rate = fitted.get("detector_hit_rate_")
    if rate is not None and not (isinstance(rate, numbers.Real) and 0 <= rate <= 1):
        raise ValueError(f"{path}: {where}.detector_hit_rate_ must be in [0, 1], got {rate!r}")


def decode(node, path: Path, weights: dict, where: str = "model"):
    """Rebuild one node of the model tree (allowed classes, parameters and fitted
    attributes only; a network's weights from ``weights``)."""
    from ..estimators import KeypointNet
    from ..keypoints import KeypointSchema
    from ..pipeline import KeypointPipeline
    from ..preprocessing import FaceCrop

    if not isinstance(node, dict):
        raise ValueError(f"{path}: {where} must be an object, not {type(node).__name__}")
    allowed = allowed_classes()
    name = node.get("class")
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(
            f"{path} names the class {name!r}, which sklearn-fkd does not rebuild from a "
            f"model file (allowed: {', '.join(sorted(allowed))})"
        )
    cls = allowed[name]
    raw = node.get("params", {})
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: the parameters of {where} must be an object")
    params = {k: _decode_value(v, path, f"{where}.{k}", k) for k, v in raw.items()}
    _check_parameters(cls, params, path, where)
    try:
        if cls is KeypointSchema:
            return KeypointSchema(**params)
        if cls is KeypointPipeline:
            steps = node.get("steps")
            if not (isinstance(steps, list) and steps) or not all(
                isinstance(s, list) and len(s) == 2 and isinstance(s[0], str) for s in steps
            ):
                raise ValueError(f"{path}: {where}.steps must be a list of [name, step] pairs")
            return KeypointPipeline(
                [(n, decode(s, path, weights, f"{where}.{n}")) for n, s in steps], **params
            )
        obj = cls(**params)
        if cls is FaceCrop:
            obj._check_params()  # types and ranges, as fit checks them
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as exc:
        raise ValueError(f"{path}: {where} cannot be rebuilt: {exc}") from None
    fitted = _check_fitted(cls, node.get("fitted", {}), path, where)
    if isinstance(obj, KeypointNet):
        from .network import rebuild_network

        return rebuild_network(obj, node, fitted, path, weights, where)
    for key, value in fitted.items():
        _check_fitted_numbers(value, path, f"{where}.{key}")
    if cls is FaceCrop:
        _check_face_crop(fitted, path, where)
    for key, value in fitted.items():
        setattr(obj, key, value)
    return obj


def classes(node) -> list[str]:
    """The class names of a model tree, outermost first (``"?"`` for a malformed node)."""
    if not isinstance(node, dict):
        return ["?"]
    name = node.get("class")
    names = [name if isinstance(name, str) else "?"]
    steps = node.get("steps", [])
    for step in steps if isinstance(steps, list) else ():
        names += classes(step[1] if isinstance(step, list) and len(step) == 2 else None)
    return names
