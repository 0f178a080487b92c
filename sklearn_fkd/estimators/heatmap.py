"""Heatmap regression (a U-Net, or a ResNet encoder with a feature-pyramid decoder) and
sub-pixel decoding."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.utils import to_numpy

from ..nn.heatmaps import (
    decode_heatmaps,
    expected_position,
    pixels_to_normalized,
    soft_argmax,
    spatial_softmax,
)
from ..nn.losses import HeatmapLoss
from ..utils.validation import Interval, Options, TupleOf
from .dataset import KeypointDataset
from .net import KeypointNet
from .shared_docs import SHARED_PARAMETERS_DOC

__all__ = ["HeatmapKeypointEstimator"]


DECODERS = ("softargmax", "argmax")
BACKBONES = ("unet", "fpn")


class HeatmapKeypointEstimator(KeypointNet):
    """Predict one heatmap per keypoint; decode it with sub-pixel accuracy.

    The network outputs one logit map per point (the U-Net at the input resolution,
    the feature-pyramid network at a quarter of it); a spatial softmax turns each into
    a probability heatmap. Training follows DSNT (Nibali et al. 2018):
    the coordinate loss ``loss`` on each heatmap's expected position, plus ``js_weight``
    times the Jensen-Shannon divergence to a Gaussian of standard deviation ``sigma``
    centred on the target, generated on the fly on the training device from the
    (augmented) keypoints (:class:`~sklearn_fkd.nn.losses.HeatmapLoss`). A missing
    keypoint has no target and is left out of both terms.

    Parameters
    ----------
    backbone : {"unet", "fpn"}, default="unet"
        ``"unet"``: :class:`~sklearn_fkd.nn.UNet` (``depth``, ``base_channels``), maps
        at the input resolution. ``"fpn"``: :class:`~sklearn_fkd.nn.HeatmapFPN`, a light
        ResNet encoder with a top-down decoder (``widths``, ``output_stride``): several
        times cheaper per pixel, the better choice from about 96x96 inputs.
    depth : int, default=3
        U-Net: down/up-sampling steps.
    base_channels : int, default=16
        U-Net: width of the first level; doubled at each step down.
    widths : tuple of int, default=(32, 64, 128, 256)
        FPN: channels of the encoder stages at strides 4, 8, 16 and 32.
    output_stride : {4, 8}, default=4
        FPN: input pixels per heatmap pixel.
    sigma : float, default=2.0
        Standard deviation of the target Gaussians, in input pixels.
    js_weight : float, default=1.0
        Weight of the heatmap (Jensen-Shannon) term; 0 trains on coordinates alone.
    decode : {"softargmax", "argmax"}, default="softargmax"
        How predictions are read from the heatmaps: their expectation (what training
        optimises), or the integer argmax refined by a parabola through the
        log-heatmap (:func:`~sklearn_fkd.nn.decode_heatmaps`).
    schema : KeypointSchema or None, default=None
        Schema of ``y``; inferred from the point count when None.
    loss : {"mse", "smooth_l1", "wing"}, default="mse"
        The coordinate term of the loss.
    """

    def __init__(
        self,
        *,
        backbone="unet",
        depth=3,
        base_channels=16,
        widths=(32, 64, 128, 256),
        output_stride=4,
        sigma=2.0,
        js_weight=1.0,
        decode="softargmax",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.backbone = backbone
        self.depth = depth
        self.base_channels = base_channels
        self.widths = widths
        self.output_stride = output_stride
        self.sigma = sigma
        self.js_weight = js_weight
        self.decode = decode

    OUTPUT = "maps"

    _parameter_constraints: ClassVar[dict] = {
        **KeypointNet._parameter_constraints,
        "backbone": Options(*BACKBONES),
        "depth": Interval(1, integer=True),
        "base_channels": Interval(1, integer=True),
        "widths": TupleOf(Interval(1, integer=True)),
        "output_stride": Options(4, 8),
        "sigma": Interval(0, low_inclusive=False),
        "js_weight": Interval(0),
        "decode": Options(*DECODERS),
    }

    def _stride(self) -> int:
        """Input pixels per heatmap pixel, of the network in use."""
        name, params = getattr(self, "network_spec_", None) or self.network_spec()
        return int(params.get("output_stride", 4)) if name == "fpn" else 1

    def network_spec(self) -> tuple[str, dict]:
        """The U-Net or the FPN, by ``backbone``: one logit map per point (see
        :meth:`KeypointNet.network_spec`)."""
        if self.backbone == "fpn":
            widths = tuple(self.widths)
            blocks = (1, 2, 2, 1)[: len(widths)] + (1,) * max(0, len(widths) - 4)
            return "fpn", {"widths": widths, "blocks": blocks, "output_stride": self.output_stride}
        return "unet", {"depth": self.depth, "base_channels": self.base_channels}

    def initialize_criterion(self):
        """The DSNT loss on the heatmaps."""
        sigma = self.sigma / self._stride()  # heatmap pixels
        self.criterion_ = HeatmapLoss(self.loss, sigma, self.js_weight).to(self.device_)
        return self

    def decode_outputs(self, outputs: torch.Tensor) -> torch.Tensor:
        """Logit maps ``(B, K, H, W)`` -> coordinates, by ``decode``."""
        if self.decode == "softargmax":
            return soft_argmax(outputs).flatten(1)
        # decode_heatmaps fits its parabola to the log of positive maps: give it the
        # maps exp(logits - max), whose log is the logits (the softmax up to a constant)
        logits = outputs.float()
        peaked = torch.exp(logits - logits.amax(dim=(-2, -1), keepdim=True))
        xy = decode_heatmaps(peaked)  # (B, K, 2) heatmap pixels
        return pixels_to_normalized(xy, tuple(outputs.shape[-2:])).flatten(1)

    HAS_POINT_CONFIDENCE = True
    #: the radius, in heatmap cells, within which :meth:`point_confidence` adds up a
    #: point's probability (chosen on 400 LFPW faces among 1.5 to 4 cells, for both
    #: shipped models: ``benchmarks/bench_confidence.py``)
    CONFIDENCE_RADIUS = 3.0

    def point_confidence(self, outputs: torch.Tensor) -> torch.Tensor:
        """How peaked each point's map is: the probability of its heatmap (the softmax of
        its logits) within ``CONFIDENCE_RADIUS`` cells of its expected position, ``(B,
        K)`` in ``[0, 1]``. A sharp single peak gives near 1; a flat or split map (an
        occluded, turned-away or blurred point) gives little."""
        prob = spatial_softmax(outputs.float().flatten(2))[0]
        return self._peakedness(prob.view(outputs.shape))

    def decode_with_confidence(self, outputs: torch.Tensor):
        """:meth:`decode_outputs` and :meth:`point_confidence` from one softmax."""
        prob = spatial_softmax(outputs.float().flatten(2))[0]
        coords = (
            expected_position(prob, tuple(outputs.shape[-2:])).flatten(1)
            if self.decode == "softargmax"
            else self.decode_outputs(outputs)
        )
        return coords, self._peakedness(prob.view(outputs.shape))

    def _peakedness(self, prob: torch.Tensor) -> torch.Tensor:
        """The mass of probability maps ``(B, K, h, w)`` within ``CONFIDENCE_RADIUS``
        cells of their expectations, ``(B, K)``."""
        h, w = prob.shape[-2:]
        xs = torch.arange(w, device=prob.device, dtype=prob.dtype)
        ys = torch.arange(h, device=prob.device, dtype=prob.dtype)
        mx = (prob.sum(dim=-2) * xs).sum(dim=-1)[..., None, None]
        my = (prob.sum(dim=-1) * ys).sum(dim=-1)[..., None, None]
        near = (xs - mx) ** 2 + (ys[:, None] - my) ** 2 <= self.CONFIDENCE_RADIUS**2
        return (prob * near).sum(dim=(-2, -1))

    def predict_heatmaps(self, X) -> np.ndarray:
        """The predicted probability heatmaps (each sums to 1), for plotting.

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or (n, H, W, C)

        Returns
        -------
        ndarray of shape (n, K, H', W'), float32
            ``H' = H``, ``W' = W`` for the U-Net, a quarter (``output_stride``) for the
            FPN.
        """
        check_is_fitted(self, "module_")
        dataset = KeypointDataset(self._check_images(X))
        return np.concatenate(
            [
                to_numpy(spatial_softmax(out.float().flatten(2))[0].view(out.shape))
                for out in self.network_outputs(dataset, decode=False)
            ],
            axis=0,
        )


HeatmapKeypointEstimator.__doc__ += SHARED_PARAMETERS_DOC
