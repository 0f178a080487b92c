"""Export a fitted model's network to ONNX, for deployment without Python's stack.

The exported graph holds what the estimator does inside the crop it is given:
scaling (uint8 pixels to [0, 1]), standardisation, the network, the decoding of its
outputs (and the test-time flip, when the estimator uses it), the map back to
pixels and the estimator's ``prediction_offset_``. It takes ``pixels`` of shape
``(batch, H, W, C)`` at the fitted image size and returns ``keypoints`` of shape
``(batch, K, 2)`` in those images' pixels. The geometric steps of a pipeline (face
crop, resize) stay in Python: apply them first (for a pipeline ``pipe``,
``pipe[:-1].transform(images)``) and map the points back with their point maps, or use
:meth:`~sklearn_fkd.pipeline.KeypointPipeline.predict` for that.

Needs the optional extra: ``pip install "sklearn-fkd[onnx]"`` (onnx, onnxruntime,
onnxscript).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .estimators import KeypointNet
from .nn.fusion import fused_for_inference
from .utils.meta import final_estimator
from .utils.optional import import_extra

__all__ = ["export_onnx"]


class _ExportedNetwork(nn.Module):
    """Pixels ``(B, H, W, C)`` -> keypoints ``(B, K, 2)`` in their pixels, as ``predict``:
    standardised, through the network (with each mirror image when the estimator flips
    at test time) and read out by the estimator's own
    :meth:`~sklearn_fkd.estimators.KeypointNet.readout`."""

    def __init__(self, est: KeypointNet, uint8_input: bool):
        super().__init__()
        self.network = fused_for_inference(est.module_).float().cpu().eval()
        self.readout = est.readout().float()
        self.register_buffer("mean", torch.as_tensor(est.input_mean_).view(1, -1, 1, 1))
        self.register_buffer("std", torch.as_tensor(est.input_std_).view(1, -1, 1, 1))
        self.scale = 1.0 / 255.0 if uint8_input else 1.0

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.permute(0, 3, 1, 2).float() * self.scale
        x = (x - self.mean) / self.std
        mirrored = self.network(x.flip(-1)).float() if self.readout.flipped else None
        return self.readout(self.network(x).float(), mirrored)


def export_onnx(
    model, path: str | os.PathLike, *, input_dtype: str = "uint8", opset: int = 18
) -> Path:
    """Write the network part of a fitted estimator or pipeline as an ONNX model.

    Parameters
    ----------
    model : fitted estimator, KeypointPipeline or search
        Its final keypoint estimator is exported (see the module docs for what the
        graph holds and what stays in Python).
    path : str or path-like
        The ``.onnx`` file to write.
    input_dtype : {"uint8", "float32"}, default="uint8"
        ``"uint8"``: the graph takes 0..255 pixels, as images read from files (the
        estimator scaled them by 1/255 at fit); ``"float32"``: pixels as the estimator
        was given them, for models fitted on float images.
    opset : int, default=18

    Returns
    -------
    Path

    Raises
    ------
    ImportError
        Naming the extra to install when onnx is missing.

    Examples
    --------
    >>> export_onnx(pipe, "face.onnx")  # doctest: +SKIP
    >>> import onnxruntime
    >>> session = onnxruntime.InferenceSession("face.onnx")  # doctest: +SKIP
    >>> crops = pipe[:-1].transform(images)  # doctest: +SKIP
    >>> points = session.run(None, {"pixels": crops[..., None]})[0]  # doctest: +SKIP
    """
    import_extra("onnx", "export_onnx")
    import_extra("onnxscript", "export_onnx")
    if input_dtype not in ("uint8", "float32"):
        raise ValueError(f"input_dtype must be 'uint8' or 'float32', got {input_dtype!r}")
    _, est = final_estimator(model)
    if not isinstance(est, KeypointNet) or not hasattr(est, "module_"):
        raise ValueError(
            f"export_onnx needs a fitted keypoint estimator, got {type(est).__name__}"
        )
    wrapper = _ExportedNetwork(est, uint8_input=input_dtype == "uint8").eval()
    h, w = est.image_size_
    dtype = torch.uint8 if input_dtype == "uint8" else torch.float32
    example = torch.zeros(2, h, w, est.n_channels_, dtype=dtype)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", min=1)
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            (example,),
            str(path),
            input_names=["pixels"],
            output_names=["keypoints"],
            dynamic_shapes={"pixels": {0: batch}},
            opset_version=opset,
            dynamo=True,
            verbose=False,
        )
    return path
