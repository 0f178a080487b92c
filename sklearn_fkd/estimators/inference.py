"""Inference of an estimator's network: standardised batches through the network in
evaluation mode (BatchNorm folded, on the CPU through onnxruntime where installed and
in cache-sized chunks, each image with its mirror image in one pass under
``test_flip``), read out as they leave it."""

from __future__ import annotations

import torch

from ..nn.fusion import fused_for_inference
from .dataset import KeypointDataset
from .device import autocast_dtype
from .readout import KeypointReadout, ReadOutNetwork
from .runtime import inference_network, threads_for

__all__ = ["CPU_INFERENCE_CHUNK", "Inference"]

#: images per forward pass at CPU inference (their activations stay in cache)
CPU_INFERENCE_CHUNK = 16


class Inference:
    """Mixin of :class:`~sklearn_fkd.estimators.KeypointNet`: its forward passes."""

    def _forward(self, x: torch.Tensor, readout: KeypointReadout | None = None, **options):
        """Standardise a [0, 1]-scaled batch on the device and run the module; with a
        ``readout``, return its coordinates (``options``: its ``confidence``, and a
        ``backend`` overriding the estimator's) instead of the raw outputs: ``(B, 2K)``,
        or ``(B, 3K)`` with each point's confidence.

        At inference BatchNorm is folded into the convolutions
        (:func:`~sklearn_fkd.nn.fusion.fused_for_inference`), and on the CPU the batch runs
        in chunks of ``CPU_INFERENCE_CHUNK`` images whose activations stay in cache
        (eval-mode layers treat samples independently, so the result is the same), each
        read out as it leaves the network: the raw outputs (68 heatmaps per face for the
        heatmap model) never exist for a whole batch. CPU inference runs the network in
        onnxruntime where the ``backend`` parameter says so
        (:mod:`~sklearn_fkd.estimators.runtime`).
        """
        mean = torch.as_tensor(self.input_mean_, device=x.device).view(1, -1, 1, 1)
        std = torch.as_tensor(self.input_std_, device=x.device).view(1, -1, 1, 1)
        x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
        module = self.module_ if self.module_.training else fused_for_inference(self.module_)
        flip = readout is not None and readout.flipped
        confidence = bool(options.get("confidence"))
        network = module if readout is None else ReadOutNetwork(module, readout, confidence)
        if not module.training and x.device.type == "cpu":
            key = None if readout is None else (readout.key, confidence)
            backend = options.get("backend") or self.backend
            network = inference_network(network, backend, x, module, key)

        def run(part: torch.Tensor) -> torch.Tensor:
            return network(part).float()

        chunk = CPU_INFERENCE_CHUNK // 2 if flip else CPU_INFERENCE_CHUNK
        dtype = autocast_dtype(self.precision, x.device.type, training=module.training)
        with torch.autocast(x.device.type, dtype=dtype or torch.bfloat16, enabled=bool(dtype)):
            if x.is_cuda or module.training or len(x) <= chunk:
                return run(x)
            return torch.cat([run(part) for part in x.split(chunk)])

    def network_outputs(
        self,
        dataset: KeypointDataset,
        *,
        decode: bool = True,
        confidence: bool = False,
        readout: KeypointReadout | None = None,
        backend: str | None = None,
    ):
        """Yield, batch by batch, in evaluation mode and on the CPU, the ``[-1, 1]``
        coordinates (:meth:`readout`'s, or ``readout``'s) of the checked images of
        ``dataset``; with ``confidence`` each point's confidence follows them; without
        ``decode``, the network's raw outputs; ``backend`` overrides the estimator's.

        Images that fit in one batch skip the batch iterator (on the CPU without an
        accelerator): one face per call, a video frame, costs no loader machinery."""
        accelerator = self._accelerator()
        if not decode:
            readout = None
        elif readout is None:
            readout = self.readout()
        if readout is not None:
            readout = readout.to(self.device_)
        if self.module_.training:  # not walking every module at every call
            self._set_training(False)
        with torch.no_grad():
            X = dataset.X
            direct = (
                accelerator is None
                and isinstance(X, torch.Tensor)
                and (self.batch_size < 0 or len(X) <= self.batch_size)
                and not self.get_params_for("iterator_valid")
            )
            batches = [(X, None)] if direct else self.get_iterator(dataset, training=False)
            for Xi, _ in batches:
                with threads_for(len(Xi)):
                    out = self._forward(self._to_device_input(Xi), readout, confidence=confidence)
                if accelerator is not None:
                    out = accelerator.gather_for_metrics(out)
                yield out.cpu()
