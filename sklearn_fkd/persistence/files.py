"""The public functions of model files: save, load, read the provenance. Their names
are listed once, in the package's ``__all__`` (:mod:`sklearn_fkd.persistence`), which
serves them from here on first use."""

from __future__ import annotations

import datetime
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import joblib
import sklearn
import torch
from safetensors.torch import save

from .._version import __version__
from ..estimators import KeypointNet
from ..utils.meta import final_estimator
from .archive import (
    FORMAT_VERSION,
    MODEL_FORMAT,
    read_archive,
    read_weights,
    write_archive,
    write_atomically,
)
from .tree import classes, decode, encode
from .values import ALLOWED_TYPES  # noqa: F401 (served by the package)


class ModelVersionWarning(UserWarning):
    """A model file was made by another version of sklearn-fkd."""


class UntrustedModelError(ValueError):
    """A pickle was not loaded because the caller did not say it is trusted."""


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
        written atomically: to a fresh temporary file in the same folder, then renamed,
        so it is never seen half-written and no planted file or link is written through.
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
    if format not in ("safe", "pickle"):
        raise ValueError(f"format must be 'safe' or 'pickle', got {format!r}")
    if weights_dtype not in ("float32", "float16"):
        raise ValueError(f"weights_dtype must be 'float32' or 'float16', got {weights_dtype!r}")
    header = {
        "format": MODEL_FORMAT,
        "format_version": FORMAT_VERSION,
        "sklearn_fkd": __version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "metadata": dict(metadata or {}),
    }
    if format == "pickle":

        def write(file):
            joblib.dump({**header, "model": model}, file)

    else:
        document, blob = _safe_document(model, header, getattr(torch, weights_dtype))

        def write(file):
            write_archive(file, document, blob)

    return write_atomically(Path(path), write)


def _safe_document(model, header: dict, dtype) -> tuple[dict, bytes]:
    """The JSON document and the weights' bytes of the safe format."""
    best = getattr(model, "best_estimator_", None)
    if best is not None:
        header["metadata"].setdefault("search", type(model).__name__)
        model = best
    weights: dict = {}
    tree = encode(model, "model", weights)
    weights = {  # buffers such as the fit state stay float64
        k: v.to(dtype) if v.dtype == torch.float32 else v for k, v in weights.items()
    }
    return {**header, "model": tree}, save(weights) if weights else b""


def _check_file(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file {path} not found")
    if not path.is_file():
        raise ValueError(f"{path} is not a regular file (a folder, FIFO or device)")
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
    document, _ = read_archive(path, weights=False)
    info = {k: v for k, v in document.items() if k not in ("format", "model", "weights_sha256")}
    return {**info, "classes": classes(document["model"])}


def _read_pickle(path: Path) -> dict:
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
        The file is not a model file, is truncated, too large or was altered, or holds
        a class, parameter, fitted attribute, path or number that loading refuses (the
        message names it; see docs/model_files.rst).

    Warns
    -----
    ModelVersionWarning
        The model was saved by another sklearn-fkd version.
    """
    path = _check_file(path)
    if zipfile.is_zipfile(path):
        document, blob = read_archive(path)
        weights = read_weights(blob, path)
        saved = document.get("sklearn_fkd")
        model = decode(document["model"], path, weights)
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
