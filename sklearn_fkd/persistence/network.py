"""A keypoint network read from a model file's node: its spec checked, its size checked
against the stored weights on torch's meta device (nothing allocated); the numbers fit
learned come from the weights' ``fit_state`` buffers. Used to load a whole model
(:mod:`.tree`) and to start from a model's network (:mod:`sklearn_fkd.weights`)."""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import NamedTuple

import torch

from ..keypoints import KeypointSchema
from ..nn.fit_state import read_fit_state
from ..nn.registry import NETWORKS, network_for

__all__ = ["MAX_SPEC_NUMBER", "NetworkState", "check_network_spec", "read_network_state"]

#: the largest number in a network spec (channel widths, depths, kernel sizes...)
MAX_SPEC_NUMBER = 4096
#: the most numbers in one tuple of a network spec
MAX_SPEC_ITEMS = 16


def check_network_spec(spec, path: Path, where: str) -> tuple[str, dict]:
    """``(name, params)`` of a network of the registry, with small numbers and no file.

    Raises
    ------
    ValueError
        Not a pair, an unknown network, a ``weights`` file or any string that looks
        like a path, or a number that is not finite and at most :data:`MAX_SPEC_NUMBER`.
    """
    where = f"{where}.network_spec_"
    if not (
        isinstance(spec, (tuple, list))
        and len(spec) == 2
        and isinstance(spec[0], str)
        and isinstance(spec[1], dict)
    ):
        raise ValueError(f"{path}: {where} must be a pair (network name, parameters)")
    name, params = spec
    if name not in NETWORKS:
        raise ValueError(
            f"{path}: {where} names the network {name!r}; known: {', '.join(NETWORKS)}"
        )
    for key, value in params.items():
        if key == "weights":
            if value is not None:
                raise ValueError(
                    f"{path}: {where} names the file {value!r}; a model file is "
                    "self-contained and names no file"
                )
            continue
        values = value if isinstance(value, (tuple, list)) else (value,)
        if len(values) > MAX_SPEC_ITEMS:
            raise ValueError(f"{path}: {where}.{key} has {len(values)} values (at most 16)")
        for item in values:
            if item is None or isinstance(item, bool):
                continue
            if isinstance(item, str):
                if "/" in item or "\\" in item or item.startswith("."):
                    raise ValueError(f"{path}: {where}.{key} is the path {item!r}: refused")
                continue
            if not (
                isinstance(item, numbers.Real)
                and math.isfinite(item)
                and abs(item) <= MAX_SPEC_NUMBER
            ):
                raise ValueError(
                    f"{path}: {where}.{key} is {item!r}; a network's numbers are finite "
                    f"and at most {MAX_SPEC_NUMBER}"
                )
    return name, dict(params)


def _check_size(spec, state: dict, n_keypoints: int, n_channels: int, output: str, path, where):
    """Build the network on the meta device and compare its tensors' names and shapes
    with the stored ones: a spec asking for more than the file holds is refused."""
    try:
        with torch.device("meta"):
            module = network_for(spec, n_keypoints, n_channels, output)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{path}: {where}'s network cannot be built: {exc}") from None
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    stored = {k: tuple(v.shape) for k, v in state.items() if not k.startswith("fit_state.")}
    if expected == stored:
        return
    missing = sorted(set(expected) - set(stored))
    extra = sorted(set(stored) - set(expected))
    differ = [k for k in expected if k in stored and expected[k] != stored[k]]
    detail = (
        f"missing {missing[:3]}"
        if missing
        else f"unexpected {extra[:3]}"
        if extra
        else f"{differ[0]} is {stored[differ[0]]} in the file, {expected[differ[0]]} in the "
        "network"
    )
    raise ValueError(
        f"{path}: the weights of {where} do not fit the network its file describes ({detail})"
    )


class NetworkState(NamedTuple):
    """A checked network of a model file: its spec, its state dict (``fit_state``
    buffers included), its schema (or None) and what it outputs."""

    spec: tuple[str, dict]
    state: dict
    schema: KeypointSchema | None
    output: str


def read_network_state(
    node: dict, fitted: dict, path: Path, weights: dict, where: str, output: str | None = None
) -> NetworkState:
    """The network of an estimator's node, checked against its weights.

    Parameters
    ----------
    node : dict
        The estimator's node (its ``weights`` prefix).
    fitted : dict
        Its decoded fitted attributes (``network_spec_``, ``schema_``).
    path : Path
        The file, for messages.
    weights : dict
        Every tensor of the file.
    where : str
        The node's place in the tree, for messages.
    output : {"coordinates", "maps"} or None
        What the estimator reads out; None: as the stored network was (a heatmap network
        read out as coordinates is stored under ``net.``).
    """
    prefix = node.get("weights")
    if not isinstance(prefix, str):
        raise ValueError(f"{path}: {where} names no weights")
    state = {k[len(prefix) + 1 :]: v for k, v in weights.items() if k.startswith(prefix + ".")}
    if not state:
        raise ValueError(f"{path}: the weights of {where} are missing")
    spec = check_network_spec(fitted.get("network_spec_"), path, where)
    try:
        values = read_fit_state(state)
    except ValueError as exc:
        raise ValueError(f"{path}: {where}: {exc}") from None
    n_keypoints, n_channels = len(values["mean_shape"]), len(values["input_mean"])
    schema = fitted.get("schema_")
    if schema is not None and not (
        isinstance(schema, KeypointSchema) and schema.n_points == n_keypoints
    ):
        raise ValueError(f"{path}: {where}.schema_ is not a schema of its {n_keypoints} points")
    if output is None:
        wrapped = any(k.startswith("net.") for k in state)
        output = "coordinates" if wrapped else NETWORKS[spec[0]][1]
    _check_size(spec, state, n_keypoints, n_channels, output, path, where)
    return NetworkState(spec, state, schema, output)
