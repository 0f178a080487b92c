"""Where and in which arithmetic an estimator's network runs: ``device="auto"``, the
accelerator of skorch's ``AccelerateMixin``, moving a fitted network, and the bfloat16
autocast of ``precision``."""

from __future__ import annotations

import functools
from contextlib import contextmanager
from pathlib import Path

import torch

__all__ = [
    "PRECISIONS",
    "DevicePlacement",
    "autocast_dtype",
    "check_device",
    "cpu_has_native_bfloat16",
    "resolve_device",
]

PRECISIONS = ("auto", "bfloat16", "float32")

#: the /proc/cpuinfo flags of CPUs that compute bfloat16 natively (Intel AMX, AVX512-BF16)
BFLOAT16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


@functools.lru_cache(maxsize=1)
def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (Intel AMX or AVX512-BF16; Linux)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f" {flag}" in flags for flag in BFLOAT16_CPU_FLAGS)


def autocast_dtype(precision: str, device_type: str, training: bool):
    """bfloat16 where ``precision`` asks for it (see the estimators' ``precision``), else
    None: on CUDA, and for training on CPUs with native bfloat16 units; CPU inference
    always runs in float32."""
    if precision == "float32" or (device_type == "cpu" and not training):
        return None
    if precision == "bfloat16" or device_type == "cuda":
        return torch.bfloat16
    return torch.bfloat16 if cpu_has_native_bfloat16() else None


def resolve_device(device) -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is visible, else ``"cpu"``; others unchanged."""
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def check_device(device) -> None:
    """A clear ValueError for a device string torch does not know or cannot use here."""
    if device in (None, "auto"):
        return
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or another torch device string, got {device!r}"
        ) from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but no CUDA GPU is visible; use 'auto' or 'cpu'")


class DevicePlacement:
    """Mixin of :class:`~sklearn_fkd.estimators.KeypointNet`: ``device="auto"`` resolved
    into ``device_``, which skorch's own code sees, and a fitted network moved with
    ``set_params(device=...)`` or unpickled where its device is gone."""

    def _accelerator(self):
        """The ``accelerator`` of skorch's ``AccelerateMixin``, if mixed in."""
        return getattr(self, "accelerator", None)

    def _resolved_device(self) -> str:
        accelerator = self._accelerator()
        if accelerator is not None and self.device is None:
            return str(accelerator.device)
        return resolve_device(self.device)

    @contextmanager
    def _skorch_device(self):
        """Let skorch's own code see the resolved device instead of ``"auto"`` (not under
        an ``accelerator``, which places everything itself and wants ``device=None``)."""
        if self._accelerator() is not None:
            yield
            return
        requested = self.device
        self.device = self.device_
        try:
            yield
        finally:
            self.device = requested

    def _move_to(self, device: str) -> None:
        """Move a fitted network, its loss and its optimizer state to ``device`` (after
        ``set_params(device=...)``, e.g. a model trained on a GPU used on a laptop)."""
        self.device_ = device
        self.module_.to(device)
        self.criterion_.to(device)
        if self.optimizer_ is None:
            return
        for state in self.optimizer_.state.values():
            for key, value in state.items():
                if torch.is_tensor(value) and key != "step":
                    state[key] = value.to(device)

    def _to_device_input(self, x: torch.Tensor) -> torch.Tensor:
        """A batch on the device, as float pixels (uint8 scaled to [0, 1])."""
        x = x.to(self.device_, non_blocking=True)
        return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()

    def __setstate__(self, state):
        requested = state["device"]
        state["device"] = resolve_device(requested)
        super().__setstate__(state)
        self.device_ = self.device  # skorch falls back to the CPU when CUDA is gone
        self.device = requested
