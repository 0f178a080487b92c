"""Model files that are data, not code: JSON for the model's structure and safetensors
for its weights, in one zip file.

A model file holds

* ``model.json``: the format tag and version; the library, torch and scikit-learn
  versions that wrote it; the creation date and the caller's metadata (provenance); and
  the model as a tree: each pipeline step and estimator by class name, with its
  parameters and its fitted state (a :class:`~sklearn_fkd.preprocessing.FaceCrop`'s
  detector calibration, an estimator's schema, image size, input statistics, mean
  shape and training history);
* ``weights.safetensors``: every network's weights (with their ``fit_state`` buffers),
  whose SHA-256 ``model.json`` records.

Loading rebuilds only the classes of this library that a model can hold (the three
estimators, the steps, ``KeypointPipeline``, ``Augment``, ``KeypointSchema``) and the
torch optimizers named in :data:`ALLOWED_TYPES`; any other name is refused, and nothing
is ever unpickled, so opening a shared model file cannot run code from it.
:func:`model_info` reads ``model.json`` alone.

Pickles still work as scikit-learn users expect (``pickle.dumps(est)``,
``save_model(..., format="pickle")``), but :func:`load_model` refuses a pickle unless
the caller says the file is trusted (``trusted=True``; the CLI's ``--trust-pickle``):
unpickling runs whatever code the file holds. (skops cannot serialise these models:
its ``dump`` fails on torch tensors.)
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import numbers
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np

__all__ = [
    "ALLOWED_TYPES",
    "MODEL_FORMAT",
    "ModelVersionWarning",
    "UntrustedModelError",
    "load_model",
    "model_info",
    "save_model",
]

MODEL_FORMAT = "sklearn-fkd model"
FORMAT_VERSION = 1
_JSON, _WEIGHTS = "model.json", "weights.safetensors"

#: torch optimizer classes a model file may name (the ``optimizer`` parameter)
ALLOWED_TYPES = (
    "torch.optim.adamw.AdamW",
    "torch.optim.adam.Adam",
    "torch.optim.sgd.SGD",
    "torch.optim.rmsprop.RMSprop",
)


class ModelVersionWarning(UserWarning):
    """A model file was made by another version of sklearn-fkd."""


class UntrustedModelError(ValueError):
    """A pickle was not loaded because the caller did not say it is trusted."""


def _allowed_classes() -> dict[str, type]:
    """The classes a model file may name, by their public dotted names."""
    from .augment import Augment
    from .estimators import FaceKeypointRegressor, HeatmapKeypointEstimator, NoseRegressor
    from .keypoints import KeypointSchema
    from .pipeline import KeypointPipeline
    from .preprocessing import FaceCrop, Grayscale, Resize, Standardize

    classes = (
        KeypointPipeline,
        NoseRegressor,
        FaceKeypointRegressor,
        HeatmapKeypointEstimator,
        FaceCrop,
        Resize,
        Grayscale,
        Standardize,
        Augment,
        KeypointSchema,
    )
    public = {
        KeypointPipeline: "sklearn_fkd.pipeline",
        NoseRegressor: "sklearn_fkd.estimators",
        FaceKeypointRegressor: "sklearn_fkd.estimators",
        HeatmapKeypointEstimator: "sklearn_fkd.estimators",
        Augment: "sklearn_fkd.augment",
        KeypointSchema: "sklearn_fkd.keypoints",
    }
    return {f"{public.get(c, 'sklearn_fkd.preprocessing')}.{c.__name__}": c for c in classes}


def _class_name(obj) -> str:
    for name, cls in _allowed_classes().items():
        if type(obj) is cls:
            return name
    raise TypeError(
        f"a {type(obj).__module__}.{type(obj).__name__} cannot be stored in the safe "
        "model format (it holds this library's estimators, steps and pipelines); save "
        "it with save_model(..., format='pickle')"
    )


# -- encoding ----------------------------------------------------------------------------

#: parameters that hold training-time objects (callbacks, validation splits): a model
#: file records what they were, but a loaded model gets the defaults
_TRAINING_ONLY = ("callbacks", "train_split")


def _encode_value(value, where: str):
    """A parameter or fitted value as JSON (tuples, arrays, schemas, classes tagged)."""
    from .augment import Augment
    from .keypoints import KeypointSchema

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
            "class": _class_name(value),
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


def _fitted_attributes(obj) -> dict:
    """An object's fitted attributes (``name_``), as scikit-learn names them."""
    return {
        k: v
        for k, v in vars(obj).items()
        if k.endswith("_") and not k.startswith("_") and not k.endswith("__")
    }


#: what an estimator's fit learned besides the weights (skorch's own attributes, the
#: network and the optimizer are rebuilt on loading)
_NETWORK_FITTED = (
    "schema_",
    "n_keypoints_",
    "n_channels_",
    "image_size_",
    "input_mean_",
    "input_std_",
    "mean_shape_",
    "mean_shape_std_",
    "network_spec_",
)


def _encode(obj, where: str, weights: dict) -> dict:
    """The JSON node of a pipeline, step or estimator; networks' tensors go to ``weights``."""
    from .estimators import KeypointNet
    from .pipeline import KeypointPipeline

    name = _class_name(obj)
    if isinstance(obj, KeypointPipeline):
        return {
            "class": name,
            "steps": [[n, _encode(step, f"{where}.{n}", weights)] for n, step in obj.steps],
            "params": {"verbose": bool(obj.verbose)},
        }
    params = obj.get_params(deep=False)
    node = {"class": name}
    if isinstance(obj, KeypointNet):
        dropped = {k: repr(params.pop(k)) for k in _TRAINING_ONLY if params.get(k) is not None}
        if dropped:
            node["training_only"] = dropped
        node["params"] = _encode_params(params, where)
        if not hasattr(obj, "module_"):
            raise ValueError(f"{where} ({type(obj).__name__}) is not fitted: nothing to save")
        prefix = f"net{len({k.split('.')[0] for k in weights})}"
        module = obj.module_
        for key, tensor in module.state_dict().items():
            weights[f"{prefix}.{key}"] = tensor.detach().cpu().contiguous()
        node["weights"] = prefix
        fitted = {k: getattr(obj, k, None) for k in _NETWORK_FITTED}
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
    node["fitted"] = _encode_params(_fitted_attributes(obj), f"{where} (fitted)")
    return node


# -- decoding ----------------------------------------------------------------------------


def _decode_value(value, path: Path):
    if isinstance(value, list):
        return [_decode_value(v, path) for v in value]
    if not isinstance(value, dict):
        return value
    if "tuple" in value:
        return tuple(_decode_value(v, path) for v in value["tuple"])
    if "dict" in value:
        return {k: _decode_value(v, path) for k, v in value["dict"].items()}
    if "ndarray" in value:
        data = np.array(value["ndarray"], dtype=object)
        data = np.where(data == None, np.nan, data)  # noqa: E711 (NaN were stored as null)
        return data.astype(value["dtype"]).reshape(value["shape"])
    if "type" in value:
        name = value["type"]
        if name not in ALLOWED_TYPES:
            raise ValueError(f"{path} names the class {name!r}, which a model file may not name")
        import importlib

        module, _, qualname = name.rpartition(".")
        return getattr(importlib.import_module(module), qualname)
    if "class" in value:
        return _decode(value, path, {})
    raise ValueError(f"{path}: unreadable value {sorted(value)!r} in {_JSON}")


def _decode(node: dict, path: Path, weights: dict):
    """Rebuild one node of the model tree (allowed classes only)."""
    from .estimators import KeypointNet
    from .keypoints import KeypointSchema
    from .pipeline import KeypointPipeline

    allowed = _allowed_classes()
    name = node.get("class")
    if name not in allowed:
        raise ValueError(
            f"{path} names the class {name!r}, which sklearn-fkd does not rebuild from a "
            f"model file (allowed: {', '.join(sorted(allowed))})"
        )
    cls = allowed[name]
    params = {k: _decode_value(v, path) for k, v in node.get("params", {}).items()}
    if cls is KeypointSchema:
        return KeypointSchema(**params)
    if cls is KeypointPipeline:
        steps = [(n, _decode(step, path, weights)) for n, step in node["steps"]]
        return KeypointPipeline(steps, **params)
    obj = cls(**params)
    fitted = {k: _decode_value(v, path) for k, v in node.get("fitted", {}).items()}
    if isinstance(obj, KeypointNet):
        return _rebuild_network(obj, node, fitted, path, weights)
    for key, value in fitted.items():
        setattr(obj, key, value)
    return obj


def _rebuild_network(est, node: dict, fitted: dict, path: Path, weights: dict):
    from safetensors.torch import save
    from skorch.history import History

    prefix = node["weights"] + "."
    state = {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}
    if not state:
        raise ValueError(f"{path}: the weights of {type(est).__name__} are missing")
    spec = fitted.get("network_spec_")
    if spec is not None:  # the network to build (a fine-tuned one: its source's)
        est.network_spec_ = (spec[0], dict(spec[1]))
    try:
        est.load_params(f_params=io.BytesIO(save(state)), use_safetensors=True)
    except RuntimeError as exc:  # shapes or keys that do not fit the network
        raise ValueError(f"{path}: the weights do not fit {type(est).__name__}: {exc}") from None
    for key, value in fitted.items():
        setattr(est, key, value)
    est.history = History(node.get("history", []))
    return est


# -- files -------------------------------------------------------------------------------


def save_model(
    model,
    path: str | os.PathLike,
    metadata: dict | None = None,
    format: str = "safe",
    weights_dtype: str = "float32",
) -> Path:
    """Write a fitted model and its provenance to ``path``.

    Parameters
    ----------
    model : estimator, KeypointPipeline or fitted search
        A fitted estimator of this library or a ``KeypointPipeline`` of its steps (a
        fitted search: its ``best_estimator_``).
    path : str or path-like
        The file to write (conventionally ``*.fkd``); parent folders are created. It is
        written atomically: never half-written under its real name.
    metadata : dict, optional
        JSON values stored alongside (what it was trained on, scores...).
    format : {"safe", "pickle"}, default="safe"
        ``"safe"``: JSON and safetensors (see the module docs). ``"pickle"``: a joblib
        pickle of any object, which only ``load_model(path, trusted=True)`` opens.
    weights_dtype : {"float32", "float16"}, default="float32"
        ``"float16"`` halves the file (the shipped models use it); the loaded network
        computes in float32 with the rounded weights, so measure a model after a round
        trip.

    Returns
    -------
    Path

    Raises
    ------
    TypeError
        The model holds something the safe format cannot store (a callable detector,
        a class of another library); the message says what.
    """
    import sklearn
    import torch

    from . import __version__

    if format not in ("safe", "pickle"):
        raise ValueError(f"format must be 'safe' or 'pickle', got {format!r}")
    if weights_dtype not in ("float32", "float16"):
        raise ValueError(f"weights_dtype must be 'float32' or 'float16', got {weights_dtype!r}")
    metadata = dict(metadata or {})
    header = {
        "format": MODEL_FORMAT,
        "format_version": FORMAT_VERSION,
        "sklearn_fkd": __version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "metadata": metadata,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        if format == "pickle":
            import joblib

            joblib.dump({**header, "model": model}, partial)
        else:
            _write_safe(model, header, partial, getattr(torch, weights_dtype))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _write_safe(model, header: dict, target: Path, dtype) -> None:
    import torch
    from safetensors.torch import save

    best = getattr(model, "best_estimator_", None)
    if best is not None:
        header["metadata"].setdefault("search", type(model).__name__)
        model = best
    weights: dict = {}
    tree = _encode(model, "model", weights)
    weights = {  # buffers such as the fit state stay float64
        k: v.to(dtype) if v.dtype == torch.float32 else v for k, v in weights.items()
    }
    blob = save(weights) if weights else b""
    document = {**header, "weights_sha256": hashlib.sha256(blob).hexdigest(), "model": tree}
    try:
        text = json.dumps(document, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the metadata or the model cannot be written as JSON: {exc}") from None
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_JSON, text)
        archive.writestr(_WEIGHTS, blob)


def _read_document(path: Path) -> tuple[dict, zipfile.ZipFile]:
    """The parsed ``model.json`` and the open archive; a one-line ValueError otherwise."""
    try:
        archive = zipfile.ZipFile(path)
        text = archive.read(_JSON)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable sklearn-fkd model file ({exc})") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path}: its {_JSON} is not valid JSON ({exc})") from None
    if not (isinstance(document, dict) and document.get("format") == MODEL_FORMAT):
        raise ValueError(f"{path} is not a sklearn-fkd model file (no format tag in {_JSON})")
    if document.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {document['format_version']}; this sklearn-fkd "
            f"reads up to {FORMAT_VERSION}: upgrade sklearn-fkd"
        )
    return document, archive


def _check_file(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} not found")
    return path


def _refuse_pickle(path: Path) -> None:
    raise UntrustedModelError(
        f"{path} is not a sklearn-fkd model file in the safe format (JSON and "
        "safetensors): it may be a pickle, and unpickling runs any code it holds. Open it "
        "only if you trust its source: load_model(path, trusted=True), or --trust-pickle "
        "on the command line"
    )


def model_info(path: str | os.PathLike, trusted: bool = False) -> dict:
    """The provenance stored with a model, read without loading the model.

    Parameters
    ----------
    path : str or path-like
    trusted : bool, default=False
        Also read a pickled model file (which runs its code).

    Returns
    -------
    dict
        Keys ``format_version``, ``sklearn_fkd``, ``torch``, ``sklearn``, ``created``,
        ``metadata`` and ``classes`` (the model's classes, outermost first).
    """
    path = _check_file(path)
    if not zipfile.is_zipfile(path):
        if not trusted:
            _refuse_pickle(path)
        envelope = _read_pickle(path)
        info = {k: v for k, v in envelope.items() if k not in ("format", "model")}
        return {**info, "classes": [type(envelope["model"]).__name__]}
    document, archive = _read_document(path)
    archive.close()
    info = {k: v for k, v in document.items() if k not in ("format", "model", "weights_sha256")}
    return {**info, "classes": _classes(document["model"])}


def _classes(node: dict) -> list[str]:
    names = [node.get("class", "?")]
    for _, step in node.get("steps", []):
        names += _classes(step)
    return names


def _read_pickle(path: Path) -> dict:
    import joblib

    try:
        envelope = joblib.load(path)
    except (pickle.UnpicklingError, EOFError, ValueError, KeyError, IndexError, OSError) as exc:
        raise ValueError(
            f"{path} is not a sklearn-fkd model file (it cannot be unpickled: {exc})"
        ) from exc
    if not (isinstance(envelope, dict) and envelope.get("format") == MODEL_FORMAT):
        raise ValueError(
            f"{path} is not a sklearn-fkd model file (it holds a {type(envelope).__name__}, "
            "not a model saved by sklearn_fkd.persistence.save_model)"
        )
    return envelope


def load_model(path: str | os.PathLike, device: str | None = None, trusted: bool = False):
    """Load a model written by :func:`save_model`.

    Parameters
    ----------
    path : str or path-like
    device : str, optional
        Move the network to this device (``"cpu"``, ``"cuda"``, ``"auto"``), e.g. to
        use a GPU-trained model on a laptop.
    trusted : bool, default=False
        Also load a pickled model (``format="pickle"``, or a file of an older version),
        which runs whatever code the file holds. The safe format never needs it.

    Returns
    -------
    estimator or KeypointPipeline

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    UntrustedModelError
        The file is a pickle and ``trusted`` is False (a ``ValueError``).
    ValueError
        The file is not a model file, is truncated or was altered, or names a class this
        library does not rebuild (the message names it).

    Warns
    -----
    ModelVersionWarning
        The model was saved by another sklearn-fkd version.
    """
    from . import __version__
    from .estimators import KeypointNet
    from .utils.meta import final_estimator

    path = _check_file(path)
    if zipfile.is_zipfile(path):
        document, archive = _read_document(path)
        with archive:
            try:
                blob = archive.read(_WEIGHTS)
            except (KeyError, zipfile.BadZipFile, OSError, EOFError) as exc:
                raise ValueError(f"{path}: its weights cannot be read ({exc})") from None
        if hashlib.sha256(blob).hexdigest() != document.get("weights_sha256"):
            raise ValueError(
                f"{path}: the weights do not match their recorded checksum (altered?)"
            )
        weights = _load_weights(blob, path)
        saved = document.get("sklearn_fkd")
        model = _decode(document["model"], path, weights)
    else:
        if not trusted:
            _refuse_pickle(path)
        envelope = _read_pickle(path)
        saved = envelope.get("sklearn_fkd")
        model = envelope["model"]
    if saved != __version__:
        warnings.warn(
            f"{path} was saved by sklearn-fkd {saved}; this is {__version__}. It may "
            "load wrongly or predict differently: refit it if in doubt",
            ModelVersionWarning,
            stacklevel=2,
        )
    _, net = final_estimator(model)
    if device is not None and isinstance(net, KeypointNet):
        net.set_params(device=device)
    return model


def _load_weights(blob: bytes, path: Path) -> dict:
    if not blob:
        return {}
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        return load(blob)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{path}: its weights are unreadable ({exc})") from None
