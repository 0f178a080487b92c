"""Saving and loading fitted models (estimators, pipelines, searches) as one file.

A model file is a joblib pickle of a small envelope: the model, the library version
that made it, the versions of torch and scikit-learn, the creation date and any
metadata the caller adds (the CLI records the data and the command). Loading checks
the envelope, so a file that is not a model is refused with a clear error, and warns
when the library version differs.

.. warning::
   Pickles execute code when loaded. Load model files only from sources you trust.
   To share weights alone, use skorch's ``save_params``/``load_params``, which read
   with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import datetime
import os
import pickle
import warnings
from pathlib import Path

import joblib

__all__ = ["MODEL_FORMAT", "ModelVersionWarning", "load_model", "model_info", "save_model"]

MODEL_FORMAT = "sklearn-fkd model"


class ModelVersionWarning(UserWarning):
    """A model file was made by another version of sklearn-fkd."""


def save_model(model, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Write a fitted model and its provenance to ``path``.

    Parameters
    ----------
    model : estimator
        Anything picklable; usually a fitted estimator or ``KeypointPipeline``.
    path : str or path-like
        The file to write (conventionally ``*.joblib``); parent folders are created.
    metadata : dict, optional
        Stored alongside (JSON-like values: what it was trained on, scores...).

    Returns
    -------
    Path
    """
    import sklearn
    import torch

    from . import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    envelope = {
        "format": MODEL_FORMAT,
        "sklearn_fkd": __version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "metadata": dict(metadata or {}),
        "model": model,
    }
    partial = path.with_name(path.name + ".partial")
    try:
        joblib.dump(envelope, partial)
        partial.replace(path)  # never leave a half-written model under the real name
    finally:
        partial.unlink(missing_ok=True)
    return path


def _read_envelope(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} not found")
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


def model_info(path: str | os.PathLike) -> dict:
    """The provenance stored with a model: versions, creation date, metadata.

    Returns
    -------
    dict
        Keys ``sklearn_fkd``, ``torch``, ``sklearn``, ``created``, ``metadata``.
    """
    envelope = _read_envelope(path)
    return {k: v for k, v in envelope.items() if k not in ("format", "model")}


def load_model(path: str | os.PathLike, device: str | None = None):
    """Load a model written by :func:`save_model`.

    Parameters
    ----------
    path : str or path-like
    device : str, optional
        Move the networks inside to this device (``"cpu"``, ``"cuda"``, ``"auto"``),
        e.g. to use a GPU-trained model on a laptop. A CUDA model loaded where there is
        no GPU falls back to the CPU on its own (with skorch's warning).

    Returns
    -------
    estimator

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file is not a sklearn-fkd model file.

    Warns
    -----
    ModelVersionWarning
        The model was saved by another sklearn-fkd version.
    """
    from . import __version__
    from .estimators import KeypointNet
    from .utils.meta import final_estimator

    envelope = _read_envelope(path)
    saved = envelope.get("sklearn_fkd")
    if saved != __version__:
        warnings.warn(
            f"{path} was saved by sklearn-fkd {saved}; this is {__version__}. It may "
            "load wrongly or predict differently: refit it if in doubt",
            ModelVersionWarning,
            stacklevel=2,
        )
    model = envelope["model"]
    _, net = final_estimator(model)
    if device is not None and isinstance(net, KeypointNet):
        net.set_params(device=device)
    return model
