"""Export a fitted model to ONNX, for deployment without Python's stack.

Two kinds of graph:

* **the network's** (default): what the estimator does inside the crop it is given:
  scaling (uint8 pixels to [0, 1]), standardisation, the network, the decoding of its
  outputs (and the test-time flip, when the estimator uses it), the map back to pixels
  and the estimator's ``prediction_offset_``. It takes ``pixels`` of shape ``(batch, H,
  W, C)`` at the fitted image size and returns ``keypoints`` of shape ``(batch, K, 2)``
  in those images' pixels; the pipeline's geometric steps (face crop, resize) stay in
  Python (``pipe[:-1].transform(images)``).
* **the photo's** (``photo=True``, for a :class:`~sklearn_fkd.pipeline.KeypointPipeline`
  of ``FaceCrop``, ``Grayscale`` and ``Resize`` before its estimator, as the shipped
  models are): what ``pipe.predict(photo, boxes=boxes)`` does, whole. It takes one
  ``image`` ``(H, W, 3)`` uint8 RGB of any size and ``boxes`` ``(n, 4)`` float32 face
  boxes ``(x0, y0, x1, y1)`` (from any detector) and returns ``keypoints`` ``(n, K, 2)``
  in the photo's pixels: each face is cropped as ``FaceCrop`` crops it (margin,
  square, inside the photo), turned grey and resized as PIL does it (the same rounding,
  so the crops are the pipeline's own), through the network, mapped back to the photo,
  and refined and averaged over crop scales as the pipeline's ``refine`` and
  ``test_scales`` say. A deployment needs onnxruntime, a box and the photo.

Both are one self-contained ``.onnx`` file (the weights inside it). Needs the optional
extra: ``pip install "sklearn-fkd[onnx]"`` (onnx, onnxruntime, onnxscript).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .estimators import KeypointNet
from .nn.fusion import fused_for_inference
from .pipeline import check_test_scales
from .preprocessing import FaceCrop, Grayscale, Resize
from .preprocessing.steps import check_image_size
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


def _grey(image: torch.Tensor) -> torch.Tensor:
    """``(C, H, W)`` 0..255 RGB -> ``(1, H, W)`` luma, rounded as PIL's ``convert("L")``
    (fixed point, exact)."""
    r, g, b = image[0], image[1], image[2]
    return torch.floor((r * 19595.0 + g * 38470.0 + b * 7471.0 + 32768.0) / 65536.0)[None]


#: PIL's fixed-point precision when it resamples 8-bit images
_PRECISION_BITS = 22


def _resample_weights(start: torch.Tensor, stop: torch.Tensor, size_in, size_out: int):
    """PIL's antialiased bilinear resampling of the pixels ``[start, stop)`` of an axis of
    ``size_in`` pixels to ``size_out``, as matrices ``(n, size_out, size_in)`` of its
    fixed-point weights (zero outside each window), float64: output pixel ``i``, centred
    at ``(i + 0.5) * scale`` in the window, averages the input pixels under a triangle as
    wide as ``max(scale, 1)``."""
    scale = (stop - start) / size_out
    widen = torch.clamp(scale, min=1.0)[:, None, None]
    centre = ((torch.arange(size_out, dtype=torch.float64) + 0.5) * scale[:, None])[..., None]
    pixel = torch.arange(size_in, dtype=torch.float64) - start[:, None, None]
    weight = torch.clamp(1.0 - torch.abs(pixel + 0.5 - centre) / widen, min=0.0)
    inside = (pixel >= 0) & (pixel < (stop - start)[:, None, None])
    weight = weight * inside.to(weight.dtype)
    weight = weight / weight.sum(dim=-1, keepdim=True)
    return torch.floor(0.5 + weight * 2.0**_PRECISION_BITS)


def _resample(weights: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """``weights @ pixels`` rounded and clipped to 0..255 as PIL does each pass (exact:
    the fixed-point sums stay whole numbers under 2**53 in float64)."""
    total = weights @ pixels + 2.0 ** (_PRECISION_BITS - 1)
    return torch.clamp(torch.floor(total / 2.0**_PRECISION_BITS), 0.0, 255.0)


class _PhotoGraph(nn.Module):
    """One photo ``(H, W, C)`` and face boxes ``(n, 4)`` -> keypoints ``(n, K, 2)`` in the
    photo's pixels: a ``FaceCrop``/``Grayscale``/``Resize`` pipeline's ``predict`` with
    ``boxes=`` (refinement and crop scales included), in tensor operations."""

    def __init__(self, pipe, grey: bool, size: tuple[int, int]):
        super().__init__()
        crop, est = pipe.steps[0][1], pipe.steps[-1][1]
        self.network = _ExportedNetwork(est, uint8_input=True)
        self.margin, self.square, self.grey, self.size = (
            float(crop.margin),
            crop.square,
            grey,
            size,
        )
        self.refine = int(pipe.refine) if est.n_keypoints_ >= 2 else 0
        self.scales = check_test_scales(pipe.test_scales)

    def _windows(self, boxes: torch.Tensor, wh: torch.Tensor) -> torch.Tensor:
        """:func:`~sklearn_fkd.geometry.crop_windows` of the boxes, float64."""
        size = boxes[:, 2:] - boxes[:, :2]
        side = size.amax(dim=1, keepdim=True)
        grown = (side.expand(-1, 2) if self.square else size) + 2 * self.margin * side
        low = (boxes[:, :2] + boxes[:, 2:]) / 2 - grown / 2
        extent = torch.minimum(torch.ceil(grown) + 1, wh)
        start = torch.minimum(torch.clamp(torch.floor(low + 0.5), min=0.0), wh - extent)
        return torch.cat([start, start + extent], dim=1)

    def _points(self, image: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """Points ``(n, K, 2)`` in the photo from one crop of each box."""
        _, height, width = image.shape
        wh = torch.stack([torch.tensor(width), torch.tensor(height)]).to(torch.float64)
        windows = self._windows(boxes, wh)
        h, w = self.size
        across = _resample_weights(windows[:, 0], windows[:, 2], width, w)  # (n, w, W)
        down = _resample_weights(windows[:, 1], windows[:, 3], height, h)  # (n, h, H)
        # horizontally, then vertically, each pass rounded (as PIL does it)
        rows = _resample(across[:, None], image[None].transpose(2, 3)).transpose(2, 3)
        crops = _resample(down[:, None], rows)  # (n, C, h, w)
        points = self.network(crops.permute(0, 2, 3, 1).float()).to(torch.float64)
        extent = windows[:, 2:] - windows[:, :2]  # the crop back to the photo
        scale = extent / torch.tensor([float(w), float(h)], dtype=torch.float64)
        return (points + 0.5) * scale[:, None] - 0.5 + windows[:, None, :2]

    def _in_boxes(self, image, boxes, scales) -> torch.Tensor:
        """Points averaged over the boxes scaled by each of ``scales``."""
        if scales == (1.0,):
            return self._points(image, boxes)
        centre, half = (boxes[:, :2] + boxes[:, 2:]) / 2, (boxes[:, 2:] - boxes[:, :2]) / 2
        scaled = torch.cat([torch.cat([centre - half * f, centre + half * f], 1) for f in scales])
        points = self._points(image, scaled)
        return points.reshape(len(scales), -1, *points.shape[1:]).mean(dim=0)

    def forward(self, image: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        pixels = image.permute(2, 0, 1).to(torch.float64)
        pixels = _grey(pixels) if self.grey else pixels
        boxes = boxes.to(torch.float64)
        if self.refine == 0:
            return self._in_boxes(pixels, boxes, self.scales)
        points = self._in_boxes(pixels, boxes, (1.0,))
        for round_ in range(self.refine):
            boxes = torch.cat([points.amin(dim=1), points.amax(dim=1)], dim=1)
            points = self._in_boxes(
                pixels, boxes, self.scales if round_ == self.refine - 1 else (1.0,)
            )
        return points


def _photo_graph(model) -> tuple[_PhotoGraph, int]:
    """The photo graph of a fitted ``FaceCrop`` -> [``Grayscale``] -> ``Resize`` ->
    keypoint estimator pipeline, and the channels of its input image; a ValueError
    naming what else the pipeline holds."""
    steps = [step for _, step in getattr(model, "steps", [])]
    kinds = [type(step).__name__ for step in steps]
    if (
        len(steps) not in (3, 4)
        or not isinstance(steps[0], FaceCrop)
        or not isinstance(steps[-2], Resize)
        or (len(steps) == 4 and not isinstance(steps[1], Grayscale))
        or not isinstance(steps[-1], KeypointNet)
        or not hasattr(steps[-1], "module_")
    ):
        raise ValueError(
            "export_onnx(photo=True) needs a fitted pipeline of FaceCrop, Grayscale "
            f"(optional), Resize and a keypoint estimator; got {kinds or type(model).__name__}"
        )
    grey = len(steps) == 4
    size = check_image_size(steps[-2].size)
    est = steps[-1]
    if est.image_size_ != size:
        raise ValueError(f"Resize gives {size}, but the estimator was fitted on {est.image_size_}")
    channels = 3 if grey else est.n_channels_
    return _PhotoGraph(model, grey, size).eval(), channels


def export_onnx(
    model,
    path: str | os.PathLike,
    *,
    input_dtype: str = "uint8",
    opset: int = 18,
    photo: bool = False,
) -> Path:
    """Write a fitted model as one self-contained ONNX file.

    Parameters
    ----------
    model : fitted estimator, KeypointPipeline or search
        Without ``photo``, its final keypoint estimator is exported; with it, the whole
        pipeline (see the module docs for what each graph holds).
    path : str or path-like
        The ``.onnx`` file to write.
    input_dtype : {"uint8", "float32"}, default="uint8"
        ``"uint8"``: the graph takes 0..255 pixels, as images read from files (the
        estimator scaled them by 1/255 at fit); ``"float32"``: pixels as the estimator
        was given them, for models fitted on float images (not with ``photo``).
    opset : int, default=18
    photo : bool, default=False
        Export the photo graph: inputs ``image`` ``(H, W, 3)`` uint8 RGB (or ``(H, W,
        C)`` with the estimator's ``C`` channels when the pipeline has no
        ``Grayscale``) and ``boxes`` ``(n, 4)`` float64; output ``keypoints`` ``(n, K,
        2)`` float64 in the photo's pixels, as ``model.predict(image, boxes=boxes)``.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        An unfitted model, or with ``photo`` a pipeline of other steps.
    ImportError
        Naming the extra to install when onnx is missing.

    Examples
    --------
    >>> export_onnx(pipe, "face.onnx", photo=True)  # doctest: +SKIP
    >>> import onnxruntime
    >>> session = onnxruntime.InferenceSession("face.onnx")  # doctest: +SKIP
    >>> inputs = {"image": photo, "boxes": np.array([[120.0, 80.0, 260.0, 230.0]])}
    >>> points = session.run(None, inputs)[0]  # doctest: +SKIP
    """
    import_extra("onnx", "export_onnx")
    import_extra("onnxscript", "export_onnx")
    if input_dtype not in ("uint8", "float32"):
        raise ValueError(f"input_dtype must be 'uint8' or 'float32', got {input_dtype!r}")
    if photo:
        if input_dtype != "uint8":
            raise ValueError("export_onnx(photo=True) takes uint8 photos: input_dtype='uint8'")
        while getattr(model, "best_estimator_", None) is not None:  # a fitted search
            model = model.best_estimator_
        wrapper, channels = _photo_graph(model)
        example = (
            torch.zeros(120, 160, channels, dtype=torch.uint8),
            torch.tensor(
                [[40.0, 30.0, 100.0, 90.0], [10.0, 20.0, 60.0, 70.0]], dtype=torch.float64
            ),
        )
        names = ["image", "boxes"]
        dims = {
            "image": {0: torch.export.Dim("height", min=8), 1: torch.export.Dim("width", min=8)},
            "boxes": {0: torch.export.Dim("faces", min=1)},
        }
    else:
        _, est = final_estimator(model)
        if not isinstance(est, KeypointNet) or not hasattr(est, "module_"):
            raise ValueError(
                f"export_onnx needs a fitted keypoint estimator, got {type(est).__name__}"
            )
        wrapper = _ExportedNetwork(est, uint8_input=input_dtype == "uint8").eval()
        h, w = est.image_size_
        dtype = torch.uint8 if input_dtype == "uint8" else torch.float32
        example = (torch.zeros(2, h, w, est.n_channels_, dtype=dtype),)
        names = ["pixels"]
        dims = {"pixels": {0: torch.export.Dim("batch", min=1)}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            example,
            str(path),
            input_names=names,
            output_names=["keypoints"],
            dynamic_shapes=dims,
            opset_version=opset,
            dynamo=True,
            external_data=False,  # one file: the weights inside the graph
            verbose=False,
        )
    return path
