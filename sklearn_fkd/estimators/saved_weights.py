"""An estimator's weights saved and loaded (skorch's ``save_params``/``load_params``)
with what fit learned from the data, which travels in the network's ``fit_state``
buffers; the optimizer of a loaded estimator is made only when it trains."""

from __future__ import annotations

import numpy as np
import torch

from ..nn.fit_state import fit_state_attributes, read_state_dict

__all__ = ["SavedWeights"]


class SavedWeights:
    """Mixin of :class:`~sklearn_fkd.estimators.KeypointNet`: its weights on disk."""

    def save_params(self, *args, **kwargs):
        """skorch's ``save_params``; the weights are written in the standard (contiguous)
        layout, so ``use_safetensors=True`` works, and they include what fit learned
        from the data (input statistics, image size, mean shape: ``fit_state.*``)."""
        if kwargs.get("f_optimizer") is not None and getattr(self, "initialized_", False):
            self._ensure_optimizer()
        module = getattr(self, "module_", None)
        if module is None:
            return super().save_params(*args, **kwargs)
        module.to(memory_format=torch.contiguous_format)
        try:
            return super().save_params(*args, **kwargs)
        finally:
            module.to(memory_format=torch.channels_last)

    def load_params(self, f_params=None, *args, use_safetensors: bool = False, **kwargs):
        """skorch's ``load_params``; also restores what fit learned from the data.

        On an estimator that was never fitted (after ``initialize()`` or not), the
        network is built from the sizes stored with the weights, so
        ``FaceKeypointRegressor().load_params(f_params="w.pt")`` predicts like the
        estimator that saved them. Its ``schema`` parameter names the points (else the
        schema is inferred from their number).
        """
        if f_params is not None and not hasattr(self, "n_keypoints_"):
            self._restore_fit_state(read_state_dict(f_params, use_safetensors))
            self._loading_weights = True  # the weights come from the file, not from weights=
            try:
                self.initialize()
            finally:
                del self._loading_weights
        if kwargs.get("f_optimizer") is not None:
            self._ensure_optimizer()
        with self._skorch_device():
            super().load_params(f_params, *args, use_safetensors=use_safetensors, **kwargs)
        if f_params is not None:
            self._restore_fit_state(self.module_.state_dict())
        return self

    def _restore_fit_state(self, state: dict) -> None:
        """Set the fitted attributes from a state dict's ``fit_state.*`` entries."""
        self.__dict__.update(fit_state_attributes(state))
        self.schema_ = self._target_schema(np.zeros((1, 2 * self.n_keypoints_)))

    def initialize_optimizer(self, *args, **kwargs):
        """skorch's optimizer, made when training needs it: an estimator whose weights are
        being loaded (a model file, ``load_params``) gets none until it trains, because
        building a torch optimizer imports torch's compiler stack (over a second)."""
        if getattr(self, "_loading_weights", False) and self._accelerator() is None:
            if "optimizer" not in self._optimizers:  # as skorch registers the real one
                self._register_attribute("optimizer_", None)
            self.optimizer_ = None
            return self
        super().initialize_optimizer(*args, **kwargs)
        # a schedule resumed on a fresh optimizer (a loaded model trained further) starts
        # from its initial learning rate, which torch's schedulers expect to find here
        for group in self.optimizer_.param_groups:
            group.setdefault("initial_lr", group["lr"])
        return self

    def _ensure_optimizer(self) -> None:
        """Make the optimizer a loaded estimator deferred (see :meth:`initialize_optimizer`)."""
        if getattr(self, "optimizer_", None) is None:
            self._initialize_optimizer()
