"""An estimator's parameters: their rules declared once (``_parameter_constraints``,
merged by subclasses, checked by one validator at fit, as scikit-learn does), how they
relate, and ``augment__*`` set on the ``Augment``."""

from __future__ import annotations

from typing import ClassVar

from sklearn.base import clone

from ..augment import Augment
from ..keypoints import KeypointSchema
from ..nn.losses import LOSS_KINDS
from ..utils.validation import Interval, Options, validate_parameters
from ..weights import check_weights
from .device import PRECISIONS, check_device
from .runtime import BACKENDS

__all__ = ["Parameters"]


class Parameters:
    """Mixin of :class:`~sklearn_fkd.estimators.KeypointNet`: its parameters."""

    #: the rules of the parameters, checked at fit (subclasses merge theirs in)
    _parameter_constraints: ClassVar[dict] = {
        "lr": Interval(0, low_inclusive=False),
        "max_epochs": Interval(1, integer=True),
        "batch_size": Interval(1, integer=True, allowed=(-1,)),
        "loss": Options(*LOSS_KINDS),
        "lr_schedule": Options("cosine", None),
        "precision": Options(*PRECISIONS),
        "backend": Options(*BACKENDS),
        "test_flip": Options(False, True),
        "correct_flip_offset": Options(False, True),
        "progress": Options("auto", False, True),
        "mean_shape_start": Options(False, True),
        "freeze_encoder": Interval(0, integer=True),
    }

    #: built by this class, not parameters (skorch lists every public attribute)
    _internal_attributes = frozenset(
        {"module", "criterion", "dataset", "iterator_train", "iterator_valid"}
    )

    def _get_param_names(self):
        return [k for k in super()._get_param_names() if k not in self._internal_attributes]

    def set_params(self, **params):
        """Set parameters, including those of an ``augment`` object (``augment__rotation``).

        skorch stores any other ``a__b`` key for its own components (``module__``,
        ``optimizer__``, ``callbacks__``...). ``augment__*`` keys are set on the
        ``Augment`` instead, as scikit-learn does for nested estimators; with
        ``augment="auto"`` the default ``Augment()`` is made explicit first.
        """
        nested = {k.split("__", 1)[1]: v for k, v in params.items() if k.startswith("augment__")}
        if getattr(self, "initialized_", False) and any(
            k == "lr" or k.startswith("optimizer__") for k in params
        ):
            self._ensure_optimizer()  # skorch sets them on it (a loaded model deferred it)
        super().set_params(**{k: v for k, v in params.items() if not k.startswith("augment__")})
        if "device" in params and getattr(self, "initialized_", False):
            self._move_to(self._resolved_device())
        if nested:
            if isinstance(self.augment, str) and self.augment == "auto":
                self.augment = Augment()
            if not isinstance(self.augment, Augment):
                raise ValueError(
                    f"cannot set {sorted(nested)} of augment={self.augment!r}; pass "
                    "augment=Augment(...) first"
                )
            self.augment.set_params(**nested)
        return self

    def _check_params(self) -> None:
        """Check the parameters (once, at fit, as scikit-learn asks): the declared rules
        of ``_parameter_constraints``, then how parameters relate; resolve ``augment``
        into ``augment_``."""
        validate_parameters(self, self._parameter_constraints)
        if self.freeze_encoder and self.weights is None:
            raise ValueError("freeze_encoder needs weights= (a pretrained encoder to keep)")
        if self.weights is not None:
            check_weights(self.weights, takes_state_dict=self._takes_state_dict())
        if self._accelerator() is None:
            check_device(self.device)
        if self.schema is not None and not isinstance(self.schema, KeypointSchema):
            raise TypeError(
                f"schema must be a KeypointSchema or None, got {type(self.schema).__name__}"
            )
        if isinstance(self.augment, str) and self.augment == "auto":
            self.augment_ = Augment()
        elif self.augment is None or isinstance(self.augment, Augment):
            self.augment_ = None if self.augment is None else clone(self.augment)
        else:
            raise TypeError(
                "augment must be 'auto', None or a sklearn_fkd.augment.Augment, got "
                f"{self.augment!r}"
            )
        if self.augment_ is not None:
            self.augment_.validate()
