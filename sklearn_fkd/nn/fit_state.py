"""What fit learned from the data, kept as buffers of the network so that its state
dict (``save_params``, model files, ONNX) carries it: input statistics, image size,
mean shape and spread, and the prediction offset."""

from __future__ import annotations

import os

import numpy as np
import torch
from safetensors.torch import load, load_file

__all__ = [
    "MAX_IMAGE_SIDE",
    "FitState",
    "fit_state_attributes",
    "read_fit_state",
    "read_state_dict",
]


class FitState(torch.nn.Module):
    """What fit learned from the data, as buffers of the network (so its state dict
    carries them): input statistics, image size ``(H, W)``, mean shape and spread
    ``(K, 2)`` in pixels (NaN for never-annotated points), and the prediction offset
    ``(2,)`` in pixels (``correct_flip_offset``)."""

    KEYS = (
        "input_mean",
        "input_std",
        "image_size",
        "mean_shape",
        "mean_shape_std",
        "prediction_offset",
    )

    def __init__(
        self, input_mean, input_std, image_size, mean_shape, mean_shape_std, prediction_offset
    ):
        super().__init__()
        values = (input_mean, input_std, image_size, mean_shape, mean_shape_std, prediction_offset)
        for key, value in zip(self.KEYS, values, strict=True):
            tensor = torch.as_tensor(np.asarray(value, dtype=np.float64))
            if key.startswith("mean_shape"):
                tensor = tensor.reshape(-1, 2)
            self.register_buffer(key, tensor.clone())


#: the largest image side a fit state may record
MAX_IMAGE_SIDE = 8192


def read_fit_state(state: dict) -> dict[str, np.ndarray]:
    """The ``fit_state.*`` buffers of a state dict as float64 arrays, checked.

    Raises
    ------
    ValueError
        The buffers are missing, or hold numbers a fit cannot produce: non-finite or
        non-positive input spreads, an image size that is not 1 to ``MAX_IMAGE_SIDE``
        whole pixels, an infinite mean shape, or a non-finite prediction offset or one
        larger than the image.
    """
    try:
        values = {
            k: state[f"fit_state.{k}"].detach().cpu().double().numpy() for k in FitState.KEYS
        }
    except KeyError:
        raise ValueError(
            "these weights carry no fit_state (input statistics, image size, mean "
            "shape): they were not saved by this version's save_params; load them "
            "into an estimator fitted on the same kind of data"
        ) from None
    mean, std, size = values["input_mean"], values["input_std"], values["image_size"]
    shape, spread = values["mean_shape"], values["mean_shape_std"]
    offset = values["prediction_offset"].reshape(-1)

    def refuse(what: str) -> None:
        raise ValueError(f"the weights' fit_state is not one a fit produces: {what}")

    if mean.ndim != 1 or mean.shape != std.shape or not 1 <= len(mean) <= 4:
        refuse(f"input statistics of shapes {mean.shape} and {std.shape}")
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
        refuse(f"input mean {mean.tolist()} and std {std.tolist()} (finite, std > 0)")
    if size.shape != (2,) or not (
        np.isfinite(size).all() and (size == np.round(size)).all()
        and (size >= 1).all() and (size <= MAX_IMAGE_SIDE).all()
    ):  # fmt: skip
        refuse(f"image size {size.tolist()}")
    limit = 100.0 * float(size.max())
    if shape.ndim != 2 or shape.shape[1] != 2 or shape.shape != spread.shape or not len(shape):
        refuse(f"mean shape of shape {shape.shape} with spread {spread.shape}")
    if (np.abs(shape) > limit).any() or (np.abs(spread) > limit).any() or (spread < 0).any():
        refuse("a mean shape or spread outside 100 image sizes (NaN marks unknown points)")
    if (
        offset.shape != (2,)
        or not np.isfinite(offset).all()
        or (np.abs(offset) > size.max()).any()
    ):
        refuse(f"prediction offset {offset.tolist()} (finite, within the image size)")
    return values


def fit_state_attributes(state: dict) -> dict:
    """An estimator's fitted attributes (``input_mean_``, ``image_size_``,
    ``mean_shape_``, ``prediction_offset_``, ``n_keypoints_``...) from a state dict's
    checked ``fit_state.*`` buffers (see :func:`read_fit_state`)."""
    values = read_fit_state(state)
    input_mean = values["input_mean"].astype(np.float32)
    mean_shape = values["mean_shape"].reshape(-1)
    return {
        "input_mean_": input_mean,
        "input_std_": values["input_std"].astype(np.float32),
        "image_size_": tuple(int(v) for v in values["image_size"]),
        "mean_shape_": mean_shape,
        "mean_shape_std_": values["mean_shape_std"].reshape(-1),
        "prediction_offset_": values["prediction_offset"].reshape(2),
        "n_channels_": len(input_mean),
        "n_keypoints_": len(mean_shape) // 2,
    }


def read_state_dict(f_params, use_safetensors: bool) -> dict:
    """A state dict from a path or file, as skorch's ``load_params`` reads it."""
    if use_safetensors:
        if isinstance(f_params, (str, os.PathLike)):
            return load_file(f_params)
        data = f_params.read()
        f_params.seek(0)
        return load(data)
    position = None if isinstance(f_params, (str, os.PathLike)) else f_params.tell()
    state = torch.load(f_params, map_location="cpu", weights_only=True)
    if position is not None:
        f_params.seek(position)
    return state
