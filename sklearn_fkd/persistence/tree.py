"""The model as a tree of JSON nodes: which classes, parameters and fitted attributes a
model file may hold, how each is written, and how each is checked on the way in.

A node names one of :func:`allowed_classes`, its constructor parameters (only those
``get_params`` knows, with the values that cannot run or read anything) and its fitted
attributes (only those in :data:`FITTED_ATTRIBUTES` for its class). A network's fitted
numbers (input statistics, image size, mean shape, prediction offset) are not in the
JSON: they are buffers of its weights, under the checksum.
"""

from __future__ import annotations

import io
import math
import numbers
from pathlib import Path

import numpy as np
from safetensors.torch import save
from skorch.history import History

from ..detection import DETECTORS
from ..estimators import (
    FaceKeypointRegressor,
    HeatmapKeypointEstimator,
    KeypointNet,
    NoseRegressor,
)
from ..pipeline import KeypointPipeline
from ..preprocessing import FaceCrop, Grayscale, Resize, Standardize
from ..weights import is_pretrained_name
from .network import read_network_state
from .values import (
    VALUE_CLASSES,
    check_parameter_names,
    decode_params,
    decode_value,
    encode_params,
)

__all__ = ["FITTED_ATTRIBUTES", "allowed_classes", "decode", "encode"]

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
#: the fitted largest magnitude of a pipeline step's fitted number
MAX_FITTED_MAGNITUDE = 1e6

#: the model's classes (a pipeline, its steps, the estimators), by public dotted name
MODEL_CLASSES = {
    "sklearn_fkd.pipeline.KeypointPipeline": KeypointPipeline,
    "sklearn_fkd.estimators.NoseRegressor": NoseRegressor,
    "sklearn_fkd.estimators.FaceKeypointRegressor": FaceKeypointRegressor,
    "sklearn_fkd.estimators.HeatmapKeypointEstimator": HeatmapKeypointEstimator,
    "sklearn_fkd.preprocessing.FaceCrop": FaceCrop,
    "sklearn_fkd.preprocessing.Resize": Resize,
    "sklearn_fkd.preprocessing.Grayscale": Grayscale,
    "sklearn_fkd.preprocessing.Standardize": Standardize,
}


def allowed_classes() -> dict[str, type]:
    """The classes a model file may name, by their public dotted names."""
    return {**MODEL_CLASSES, **VALUE_CLASSES}


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
    key = "KeypointNet" if issubclass(cls, KeypointNet) else cls.__name__
    return FITTED_ATTRIBUTES.get(key, ())


# -- encoding ----------------------------------------------------------------------------


def encode(obj, where: str, weights: dict) -> dict:
    """The JSON node of a pipeline, step or estimator; networks' tensors go to ``weights``."""
    name = class_name(obj)
    if isinstance(obj, KeypointPipeline):
        return {
            "class": name,
            "steps": [[n, encode(step, f"{where}.{n}", weights)] for n, step in obj.steps],
            "params": encode_params(
                {
                    "verbose": bool(obj.verbose),
                    "refine": obj.refine,
                    "test_scales": obj.test_scales,
                },
                where,
            ),
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
        node["params"] = encode_params(params, where)
        if not hasattr(obj, "module_"):
            raise ValueError(f"{where} ({type(obj).__name__}) is not fitted: nothing to save")
        prefix = f"net{len({k.split('.')[0] for k in weights})}"
        for key, tensor in obj.module_.state_dict().items():
            weights[f"{prefix}.{key}"] = tensor.detach().cpu().contiguous()
        node["weights"] = prefix
        node["fitted"] = encode_params(fitted, f"{where} (fitted)")
        node["history"] = [
            {
                k: v
                for k, v in epoch.items()
                if k != "batches" and isinstance(v, (int, float, bool, str))
            }
            for epoch in obj.history
        ]
        return node
    node["params"] = encode_params(params, where)
    node["fitted"] = encode_params(fitted, f"{where} (fitted)")
    return node


# -- decoding ----------------------------------------------------------------------------


def _known_parameters(cls: type) -> set[str]:
    """The constructor parameters of ``cls`` that ``get_params`` knows."""
    if cls is KeypointPipeline:
        return {"verbose", "refine", "test_scales"}
    return {k for k in cls().get_params(deep=False) if not k.startswith("_")}


def _check_parameters(cls: type, params, path: Path, where: str) -> None:
    """Parameter names ``get_params`` knows (and ``prefix__`` names of
    :data:`NESTED_PREFIXES` for an estimator), with values that cannot run or read
    anything."""
    network = issubclass(cls, KeypointNet)
    prefixes = NESTED_PREFIXES if network else ()
    check_parameter_names(cls, params, _known_parameters(cls), path, where, prefixes)
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
    return {k: decode_value(v, path, f"{where}.{k}", k) for k, v in fitted.items()}


def _check_face_crop(fitted: dict, path: Path, where: str) -> None:
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
    if not isinstance(node, dict):
        raise ValueError(f"{path}: {where} must be an object, not {type(node).__name__}")
    allowed = allowed_classes()
    name = node.get("class")
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(
            f"{path} names the class {name!r}, which sklearn-fkd does not rebuild from a "
            f"model file (allowed: {', '.join(sorted(allowed))})"
        )
    if name in VALUE_CLASSES:
        return decode_value(node, path, where)
    cls = allowed[name]
    params = decode_params(node, path, where)
    _check_parameters(cls, params, path, where)
    try:
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
        return _load_network(obj, node, fitted, path, weights, where)
    for key, value in fitted.items():
        _check_fitted_numbers(value, path, f"{where}.{key}")
    if cls is FaceCrop:
        _check_face_crop(fitted, path, where)
    for key, value in fitted.items():
        setattr(obj, key, value)
    return obj


def _load_network(est: KeypointNet, node: dict, fitted: dict, path: Path, weights, where: str):
    """Load the estimator ``est`` (built from the node's checked parameters) with its
    checked network, weights and history."""
    network = read_network_state(node, fitted, path, weights, where, est.OUTPUT)
    est.network_spec_ = network.spec
    try:
        est.load_params(f_params=io.BytesIO(save(network.state)), use_safetensors=True)
    except RuntimeError as exc:  # shapes or keys that do not fit the network
        raise ValueError(f"{path}: the weights do not fit {type(est).__name__}: {exc}") from None
    if network.schema is not None:
        est.schema_ = network.schema
    history = node.get("history", [])
    if not (isinstance(history, list) and all(isinstance(e, dict) for e in history)):
        raise ValueError(f"{path}: {where}.history must be a list of objects")
    est.history = History(
        [{k: v for k, v in e.items() if isinstance(v, (int, float, bool, str))} for e in history]
    )
    return est


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
