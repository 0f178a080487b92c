"""What a ``weights=`` value is, and the network it names.

An estimator's ``weights`` (fine-tuning) and the CLI take a shipped model's name (a
:class:`PretrainedWeights` member, torchvision's convention: the member or its name), a
model file, or, for the ResNet-18 backbone, a torch state dict. :func:`weights_kind`
decides which by the file's content, never by its name, and refuses everything else
unread. :func:`read_network` reads the keypoint network of a model file (spec, schema,
weights) straight from the file, without rebuilding its pipeline, for an estimator to
start from.
"""

from __future__ import annotations

import enum
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from .keypoints import KeypointSchema, conversion_groups
from .nn.transfer import MapsToCoordinates, transfer_weights
from .persistence.archive import is_model_archive, read_archive, read_weights
from .persistence.network import read_network_state
from .persistence.values import decode_value

__all__ = [
    "MODELS_DIR",
    "PretrainedWeights",
    "SourceNetwork",
    "check_weights",
    "is_pretrained_name",
    "pretrained_path",
    "read_network",
    "resolve_weights",
    "weights_kind",
]

MODELS_DIR = Path(__file__).resolve().parent / "models"


class PretrainedWeights(str, enum.Enum):
    """The shipped models, for ``weights=`` (torchvision's convention: a member or its
    name), each with its model card as :attr:`meta`.

    Examples
    --------
    >>> PretrainedWeights.IBUG68_FAST.meta["input_size"]  # doctest: +SKIP
    [96, 96]
    """

    IBUG68 = "ibug68"
    IBUG68_FAST = "ibug68_fast"
    KAGGLE15 = "kaggle15"

    @property
    def meta(self) -> dict:
        """The model card (points, input size, training data and command, measured NMEs,
        licence), read from the file's ``model.json`` only."""
        document, _ = read_archive(pretrained_path(self), weights=False)
        return dict(document.get("metadata", {}).get("card", {}))


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


def check_weights(weights, takes_state_dict: bool) -> str:
    """The kind of a ``weights=`` value (see :func:`weights_kind`), refusing a state
    dict where the estimator ``takes_state_dict`` not (only
    ``FaceKeypointRegressor(backbone="resnet18")`` starts from one)."""
    kind = weights_kind(weights)
    if kind == "state_dict" and not takes_state_dict:
        raise ValueError(
            f"weights={str(weights)!r} is a torch state dict; only "
            "FaceKeypointRegressor(backbone='resnet18') starts from one (a "
            "torchvision ResNet-18's); other estimators take a model file or name"
        )
    return kind


@dataclass(frozen=True)
class SourceNetwork:
    """The keypoint network of a model file, for an estimator to start from.

    Attributes
    ----------
    spec : (str, dict)
        The network's registry name and parameters.
    schema : KeypointSchema
        The points it predicts.
    state : dict of str to Tensor
        Its weights (with its ``fit_state`` buffers, which are never copied).
    output : {"coordinates", "maps"}
        What its estimator read out (a heatmap network read out as coordinates is
        stored under ``net.``).
    description : str
        ``"<weights>: <estimator class> (<schema name>)"``, for the transfer report.
    """

    spec: tuple[str, dict]
    schema: KeypointSchema
    state: dict
    output: str
    description: str

    def transfer_into(self, module: torch.nn.Module, schema: KeypointSchema) -> dict:
        """Copy the weights into ``module``, a network for ``schema``'s points (see
        :func:`~sklearn_fkd.nn.transfer.transfer_weights`); returns its report."""
        state = self.state
        if isinstance(module, MapsToCoordinates) and self.output == "maps":
            state = {f"net.{k}": v for k, v in state.items()}
        groups = None if schema == self.schema else conversion_groups(self.schema, schema)
        head = tuple(getattr(module, "HEAD", ("head",)))
        report = transfer_weights(state, module, head=head, head_groups=groups)
        report["source"] = self.description
        return report


def read_network(weights) -> SourceNetwork:
    """The keypoint network of the model a ``weights=`` value names, read and checked
    as :func:`~sklearn_fkd.persistence.load_model` checks it, without rebuilding the
    rest of the model.

    Raises
    ------
    ValueError
        Not a model, or a model file that loading would refuse, or one without a
        keypoint network.
    """
    path = resolve_weights(weights)
    document, blob = read_archive(path)
    node, where = document["model"], "model"
    while isinstance(node, dict) and isinstance(node.get("steps"), list) and node["steps"]:
        step = node["steps"][-1]
        if not (isinstance(step, list) and len(step) == 2):
            break
        node, where = step[1], f"{where}.{step[0]}"
    if not (isinstance(node, dict) and isinstance(node.get("fitted"), dict)):
        raise ValueError(f"weights={str(weights)!r} holds no keypoint network")
    fitted = {
        k: decode_value(node["fitted"].get(k), path, f"{where}.{k}", k)
        for k in ("schema_", "network_spec_")
    }
    network = read_network_state(node, fitted, path, read_weights(blob, path), where)
    if network.schema is None:
        raise ValueError(f"{path}: {where} records no schema")
    name = str(node.get("class", "?")).rpartition(".")[2]
    description = f"{weights}: {name} ({network.schema.name})"
    return SourceNetwork(network.spec, network.schema, network.state, network.output, description)
