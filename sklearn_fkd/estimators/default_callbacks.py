"""The callbacks every estimator trains with (skorch's defaults, the cosine schedule,
the encoder freeze, the stop on a non-finite loss, a progress bar, the flip offset), and
the check that a callback watching a validation score has a validation split."""

from __future__ import annotations

import numbers
import sys

import torch
from skorch.callbacks import LRScheduler

from ..callbacks import EpochProgressBar, FreezeEncoder, StopOnNonFiniteLoss
from .flip_offset import FlipOffset

__all__ = ["DefaultCallbacks"]


class DefaultCallbacks:
    """Mixin of :class:`~sklearn_fkd.estimators.KeypointNet`: its callbacks."""

    @property
    def _default_callbacks(self):
        """skorch's defaults, the cosine schedule (validated in fit, not here), the
        encoder freeze, the stop on a non-finite loss, a progress bar, the flip offset."""
        callbacks = list(super()._default_callbacks)
        if self.lr_schedule == "cosine":
            # get_params and clone build these before fit checks lr and max_epochs:
            # a value that is not a number must reach that check, not fail here
            numbers_given = all(
                isinstance(v, numbers.Real) and not isinstance(v, bool)
                for v in (self.lr, self.max_epochs)
            )
            schedule = LRScheduler(
                torch.optim.lr_scheduler.CosineAnnealingLR,
                T_max=max(1, self.max_epochs) if numbers_given else 1,
                eta_min=self.lr * 0.01 if numbers_given else 0.0,
            )
            callbacks.append(("lr_schedule", schedule))
        if self.freeze_encoder:
            callbacks.append(("freeze_encoder", FreezeEncoder(self.freeze_encoder)))
        callbacks.append(("stop_on_non_finite_loss", StopOnNonFiniteLoss()))
        if self._shows_progress():
            callbacks.append(("progress", EpochProgressBar(f"fitting {type(self).__name__}")))
        callbacks.append(("flip_offset", FlipOffset()))
        return callbacks

    def initialize_callbacks(self):
        """skorch's callbacks, the flip offset moved after the caller's own (it measures
        the weights training ends with, after e.g. ``EarlyStopping`` restored its best)."""
        super().initialize_callbacks()
        last = [item for item in self.callbacks_ if item[0] == "flip_offset"]
        self.callbacks_ = [item for item in self.callbacks_ if item[0] != "flip_offset"] + last
        return self

    def _shows_progress(self) -> bool:
        """Whether fit adds its own progress bar (``progress``; none when the caller's
        callbacks have one, or one named ``"progress"``)."""
        for item in self.callbacks or ():
            name, callback = item if isinstance(item, tuple) else (None, item)
            if name == "progress" or isinstance(callback, EpochProgressBar):
                return False
        if isinstance(self.progress, str):
            return self.progress == "auto" and sys.stderr.isatty()
        return self.progress is True

    def _check_validation_needs(self) -> None:
        """A callback that monitors a validation score needs a validation split."""
        if self.train_split is not None:
            return
        for item in self.callbacks or ():
            callback = item[1] if isinstance(item, tuple) else item
            monitor = getattr(callback, "monitor", None)
            if isinstance(monitor, str) and monitor.startswith("valid_"):
                raise ValueError(
                    f"{type(callback).__name__} monitors {monitor!r}, which is computed only "
                    "on a validation split: pass train_split=ValidSplit(0.1) (from "
                    "skorch.dataset), or ValidSplit(GroupShuffleSplit(test_size=0.1)) with "
                    "fit(X, y, groups=persons) for a person-disjoint one"
                )
