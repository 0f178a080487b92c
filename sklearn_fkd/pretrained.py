"""Pretrained face models inside the package, and the weights to fine-tune from.

The models are files of this package (``sklearn_fkd/models/*.fkd``, the safe format of
:mod:`sklearn_fkd.persistence`): loading one never unpickles and never touches the
network. Each file records its model card in its metadata: the points, the input size,
the training data and command, the NME measured on the benchmark sets, and the licence
terms of its training data. ``python benchmarks/train_pretrained.py NAME`` rebuilds a
file from the data home.

.. code-block:: python

    from sklearn_fkd import load_pretrained

    model = load_pretrained("ibug68")   # a fitted KeypointPipeline
    points = model.predict(["photo.jpg"])  # (1, 136), in the photo's pixels

**Licence.** The shipped models were trained on 300-W (HELEN, LFPW; Sagonas et al.)
and YouTube Faces (Wolf et al. 2011), whose terms allow research and non-commercial use
only; so do the models, as dlib's 68-point model. The code is BSD-3.
"""

from __future__ import annotations

import enum
import os
import zipfile
from pathlib import Path

__all__ = [
    "PretrainedWeights",
    "is_pretrained_name",
    "list_pretrained",
    "load_pretrained",
    "pretrained_path",
    "weights_kind",
]

MODELS_DIR = Path(__file__).resolve().parent / "models"

LICENCE_NOTE = (
    "Trained on 300-W (HELEN, LFPW, AFW; Sagonas et al.) and YouTube Faces (Wolf et al. "
    "2011), which are for research and non-commercial use only: so is this model."
)


class PretrainedWeights(str, enum.Enum):
    """The shipped models, for ``weights=`` (torchvision's convention: a member or its
    name)."""

    IBUG68 = "ibug68"
    KAGGLE15 = "kaggle15"


def pretrained_path(name) -> Path:
    """The file of a shipped model, by name or :class:`PretrainedWeights` member.

    Raises
    ------
    ValueError
        An unknown name (the message lists the known ones).
    FileNotFoundError
        The package lacks the file (a source checkout where it was not built).
    """
    key = name.value if isinstance(name, PretrainedWeights) else name
    known = [m.value for m in PretrainedWeights]
    if key not in known:
        raise ValueError(f"no pretrained model {name!r}; the package has {', '.join(known)}")
    path = MODELS_DIR / f"{key}.fkd"
    if not path.is_file():
        raise FileNotFoundError(
            f"the pretrained model file {path} is missing; rebuild it with "
            f"python benchmarks/train_pretrained.py {key}"
        )
    return path


def load_pretrained(name="ibug68", device: str | None = None):
    """A shipped model: a fitted :class:`~sklearn_fkd.pipeline.KeypointPipeline`.

    It takes full photos (a face crop with its detector and calibration, grey, resize,
    the estimator) and returns points in each photo's pixels. Nothing is downloaded.

    Parameters
    ----------
    name : str or PretrainedWeights, default="ibug68"
        See :func:`list_pretrained`.
    device : str, optional
        Where to run the network (default: ``"auto"``).

    Returns
    -------
    KeypointPipeline
    """
    from .persistence import load_model

    return load_model(pretrained_path(name), device=device)


def list_pretrained() -> list[dict]:
    """The shipped models with their cards (read from the files' JSON only).

    Returns
    -------
    list of dict
        Per model: ``name``, ``points`` (schema name and count), ``input_size``,
        ``nme`` (on the benchmark sets, through the model's own detector and from the
        true boxes), ``training_data``, ``training_command``, ``licence`` and ``file``.
    """
    from .persistence import model_info

    cards = []
    for member in PretrainedWeights:
        path = MODELS_DIR / f"{member.value}.fkd"
        if not path.is_file():
            continue
        card = dict(model_info(path)["metadata"].get("card", {}))
        cards.append({"name": member.value, **card, "file": str(path)})
    return cards


def is_pretrained_name(weights) -> bool:
    """Whether ``weights`` is a shipped model's name or :class:`PretrainedWeights` member."""
    return isinstance(weights, PretrainedWeights) or (
        isinstance(weights, str) and weights in {m.value for m in PretrainedWeights}
    )


#: what a ``weights=`` value can be
WEIGHTS_KINDS = ("model", "state_dict")


def weights_kind(weights) -> str:
    """What a ``weights=`` value is, decided by the file's content, not its name.

    Returns
    -------
    {"model", "state_dict"}
        ``"model"``: a shipped model's name or member, or a sklearn-fkd model file (a
        zip holding ``model.json``); ``"state_dict"``: a file written by
        ``torch.save`` (its zip format), e.g. torchvision's ResNet-18 weights.

    Raises
    ------
    ValueError
        An unknown name, a path that is not a regular file, or a file of any other
        kind (a pickle, a photo...): it is never read.
    """
    from .persistence.archive import is_model_archive

    if is_pretrained_name(weights):
        return "model"
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(
            "weights must be a pretrained model's name, a PretrainedWeights member or a "
            f"file, got {type(weights).__name__}"
        )
    path = Path(weights)
    known = ", ".join(m.value for m in PretrainedWeights)
    if not path.is_file():
        if isinstance(weights, str) and not path.suffix and "/" not in weights:
            raise ValueError(f"no pretrained model {weights!r}; the package has {known}")
        raise ValueError(f"weights={str(weights)!r}: no such file (or not a regular file)")
    if is_model_archive(path):
        return "model"
    if _is_torch_save_file(path):
        return "state_dict"
    raise ValueError(
        f"weights={str(weights)!r} is neither a sklearn-fkd model file nor a torch state "
        "dict written by torch.save: it is not read (a pickle could run code)"
    )


def _is_torch_save_file(path: Path) -> bool:
    """Whether ``path`` is a zip in torch.save's format (a ``data.pkl`` record)."""
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n == "data.pkl" or n.endswith("/data.pkl") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def resolve_weights(weights) -> Path:
    """The model file a ``weights=`` value of kind ``"model"`` names."""
    if is_pretrained_name(weights):
        return pretrained_path(weights)
    if weights_kind(weights) != "model":
        raise ValueError(f"weights={str(weights)!r} is a torch state dict, not a model file")
    return Path(weights)
