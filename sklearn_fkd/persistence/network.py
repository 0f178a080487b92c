"""A keypoint estimator's network rebuilt from a model file: its spec checked, its size
checked against the stored weights on torch's meta device (nothing allocated), then the
weights loaded; the numbers fit learned come from the weights' ``fit_state`` buffers."""

from __future__ import annotations

import io
import math
import numbers
from pathlib import Path

import torch

__all__ = ["MAX_SPEC_NUMBER", "check_network_spec", "rebuild_network"]

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
    from ..nn.registry import NETWORKS

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
    from ..estimators.net import network_for

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


def rebuild_network(est, node: dict, fitted: dict, path: Path, weights: dict, where: str):
    """Load the estimator ``est`` (built from the node's checked parameters) with its
    network and weights."""
    from safetensors.torch import save
    from skorch.history import History

    from ..estimators.net import read_fit_state
    from ..keypoints import KeypointSchema

    prefix = node.get("weights")
    if not isinstance(prefix, str):
        raise ValueError(f"{path}: {where} names no weights")
    state = {k[len(prefix) + 1 :]: v for k, v in weights.items() if k.startswith(prefix + ".")}
    if not state:
        raise ValueError(f"{path}: the weights of {type(est).__name__} are missing")
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
    _check_size(spec, state, n_keypoints, n_channels, est.OUTPUT, path, where)
    est.network_spec_ = spec
    try:
        est.load_params(f_params=io.BytesIO(save(state)), use_safetensors=True)
    except RuntimeError as exc:  # shapes or keys that do not fit the network
        raise ValueError(f"{path}: the weights do not fit {type(est).__name__}: {exc}") from None
    if schema is not None:
        est.schema_ = schema
    history = node.get("history", [])
    if not (isinstance(history, list) and all(isinstance(e, dict) for e in history)):
        raise ValueError(f"{path}: {where}.history must be a list of objects")
    est.history = History(
        [{k: v for k, v in e.items() if isinstance(v, (int, float, bool, str))} for e in history]
    )
    return est
