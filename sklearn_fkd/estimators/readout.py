"""The readout of a keypoint network (a codec, as mmpose calls it): pixel targets to the
network's ``[-1, 1]`` units for training, and the network's outputs back to points in
the pixels of its input: decode, average an image with its mirror image, map to pixels,
subtract the prediction offset. ``predict`` and :func:`~sklearn_fkd.export.export_onnx`
both read out through it.

Coordinates inside the network are normalised over the image extent
(``u = (2x + 1) / W - 1``), the ``align_corners=False`` convention of ``affine_grid``,
so augmentation moves pixels and targets with one matrix, exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..keypoints import to_points
from ..nn.heatmaps import normalized_to_pixels, pixels_to_normalized

__all__ = ["KeypointReadout", "ReadOutNetwork"]


class KeypointReadout(torch.nn.Module):
    """Network outputs -> keypoints in pixels, and pixel targets -> ``[-1, 1]``.

    Parameters
    ----------
    decode : callable
        Network outputs of ``B`` images -> ``(B, 2K)`` coordinates in ``[-1, 1]`` (the
        estimator's ``decode_outputs``).
    image_size : (int, int)
        ``(H, W)`` of the network's input.
    flip_permutation : ndarray of shape (K,) or None
        How points swap in a mirror image: given, the estimator averages each image
        with its mirror image (test-time flip; ``flipped``).
    offset : array-like of shape (2,), default=(0, 0)
        ``(x, y)`` pixels subtracted from every point (the prediction offset).
    decode_with_confidence : callable, optional
        Outputs -> ``(coordinates (B, 2K), confidence (B, K))``, for
        ``return_confidence``.
    decoding : tuple, default=()
        The estimator's settings that change what ``decode`` does (part of
        :attr:`key`).

    Attributes
    ----------
    key : tuple
        Equal for two readouts that turn the same outputs into the same coordinates
        (the offset aside, which :meth:`to_pixels` applies): a compiled network with its
        readout is reused while it stays the same.
    """

    def __init__(
        self,
        decode: Callable,
        image_size: tuple[int, int],
        flip_permutation: np.ndarray | None = None,
        offset=(0.0, 0.0),
        decode_with_confidence: Callable | None = None,
        decoding: tuple = (),
    ):
        super().__init__()
        self.decode = decode
        self.decode_with_confidence = decode_with_confidence
        self.image_size = tuple(int(v) for v in image_size)
        self.flipped = flip_permutation is not None
        perm = np.arange(0) if flip_permutation is None else np.asarray(flip_permutation)
        self.register_buffer("perm", torch.as_tensor(perm, dtype=torch.long))
        self.register_buffer("offset", torch.as_tensor(offset, dtype=torch.float64).reshape(2))
        self.key = (self.image_size, self.flipped, tuple(perm.tolist()), tuple(decoding))

    def encode(self, y: np.ndarray) -> np.ndarray:
        """Pixels of the network's input -> ``[-1, 1]``; flat ``(n, 2K)``, float64."""
        points = pixels_to_normalized(torch.from_numpy(to_points(y)), self.image_size)
        return points.reshape(len(y), -1).numpy()

    def coordinates(self, outputs: torch.Tensor, mirrored=None, confidence: bool = False):
        """Decoded ``(B, 2K)`` ``[-1, 1]`` coordinates of the outputs of ``B`` images,
        averaged with those of their ``mirrored`` images' outputs when given; with
        ``confidence``, also each point's confidence ``(B, K)``."""
        coords, conf = self._decode(outputs, confidence)
        if mirrored is not None:
            other, other_conf = self._decode(mirrored, confidence)
            coords = (coords + self.unmirror(other)) / 2
            if conf is not None:
                conf = (conf + other_conf[:, self.perm]) / 2
        return (coords, conf) if confidence else coords

    def _decode(self, outputs: torch.Tensor, confidence: bool):
        if confidence:
            return self.decode_with_confidence(outputs)
        return self.decode(outputs), None

    def unmirror(self, coords: torch.Tensor) -> torch.Tensor:
        """Coordinates ``(B, 2K)`` predicted on mirrored images -> the originals' (x
        negated, left/right points swapped back)."""
        points = coords.unflatten(1, (-1, 2))[:, self.perm] * coords.new_tensor([-1.0, 1.0])
        return points.flatten(1)

    def to_pixels(self, coords: torch.Tensor) -> torch.Tensor:
        """``[-1, 1]`` coordinates ``(B, 2K)`` -> points ``(B, K, 2)`` in pixels, less the
        offset, in the coordinates' dtype."""
        points = normalized_to_pixels(coords.unflatten(1, (-1, 2)), self.image_size)
        return points - self.offset.to(points.dtype)

    def forward(self, outputs: torch.Tensor, mirrored=None) -> torch.Tensor:
        """Outputs (and the mirror images' outputs) -> points ``(B, K, 2)`` in pixels
        (:meth:`coordinates`, then :meth:`to_pixels`)."""
        return self.to_pixels(self.coordinates(outputs, mirrored))


class ReadOutNetwork(torch.nn.Module):
    """A network and its readout's :meth:`~KeypointReadout.coordinates` as one module:
    standardised images ``(B, C, H, W)`` (each run with its mirror image when the
    readout is ``flipped``) -> ``(B, 2K)`` coordinates in ``[-1, 1]``, or ``(B, 3K)``
    with each point's confidence after them (``confidence``). What inference runs, in
    PyTorch or exported whole to onnxruntime."""

    def __init__(self, network: torch.nn.Module, readout: KeypointReadout, confidence: bool):
        super().__init__()
        self.network = network
        self.readout = readout
        self.confidence = bool(confidence)
        # in the network's mode (its flag only: walking the network at every call is not free): an
        # exporter that restores the wrapper's mode after tracing would otherwise leave
        # the network in training mode
        self.training = network.training

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        flipped = self.readout.flipped
        out = self.network(torch.cat([x, x.flip(-1)]) if flipped else x).float()
        out, mirrored = (out[:n], out[n:]) if flipped else (out, None)
        if not self.confidence:
            return self.readout.coordinates(out, mirrored)
        return torch.cat(self.readout.coordinates(out, mirrored, confidence=True), dim=1)
