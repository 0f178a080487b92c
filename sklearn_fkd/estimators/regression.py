"""Direct coordinate regression: NoseRegressor and FaceKeypointRegressor."""

from __future__ import annotations

from typing import ClassVar

from ..keypoints import NOSE, check_keypoints, convert_keypoints
from ..nn.cnn import HEADS
from ..utils.validation import Interval, Options, TupleOf
from .net import KeypointNet
from .shared_docs import SHARED_PARAMETERS_DOC

__all__ = ["FaceKeypointRegressor", "NoseRegressor"]

BACKBONES = ("cnn", "resnet18")


class _CNNParams:
    """The small-CNN hyperparameters, shared by the two regressors (a mixin before
    :class:`KeypointNet`; the other parameters go to it through ``**kwargs``)."""

    #: the soft-argmax head's mean-shape prior is three standard deviations of the
    #: training positions wide, not one (docs/design_notes.rst says what each measured)
    mean_shape_prior_width = 3.0

    _parameter_constraints: ClassVar[dict] = {
        **KeypointNet._parameter_constraints,
        "channels": TupleOf(Interval(1, integer=True)),
        "kernel_size": Interval(1, integer=True, odd=True),
        "convs_per_block": Interval(1, integer=True),
        "head": Options(*HEADS),
        "hidden_units": Interval(0, integer=True),
        "dropout": Interval(0, 1, high_inclusive=False),
    }

    def __init__(
        self,
        *,
        max_epochs: int = 120,
        channels=(16, 32, 64, 128, 128),
        kernel_size=3,
        convs_per_block=1,
        head="softargmax",
        hidden_units=256,
        dropout=0.0,
        **kwargs,
    ):
        # 120 epochs, not the heatmap estimator's 60: the small CNN is cheap per epoch
        # and keeps improving on small data sets (benchmarks/README.md, imm)
        super().__init__(max_epochs=max_epochs, **kwargs)
        self.channels = channels
        self.kernel_size = kernel_size
        self.convs_per_block = convs_per_block
        self.head = head
        self.hidden_units = hidden_units
        self.dropout = dropout

    def _cnn_params(self) -> dict:
        return dict(
            channels=tuple(self.channels),
            kernel_size=self.kernel_size,
            convs_per_block=self.convs_per_block,
            head=self.head,
            hidden_units=self.hidden_units,
            dropout=self.dropout,
        )


class NoseRegressor(_CNNParams, KeypointNet):
    """Regress the nose tip with a small CNN.

    ``y`` may hold just the nose, ``(n, 2)``, or a full annotation whose schema has a
    nose tip (IMM58, IBUG68, KAGGLE15; given by ``schema`` or inferred from the point
    count), from which the nose is picked. Predictions are ``(n, 2)``.

    Parameters
    ----------
    channels : tuple of int, default=(16, 32, 64, 128, 128)
        Widths of the conv blocks; the number of blocks is its length.
    kernel_size : int, default=3
    convs_per_block : int, default=1
    head : {"softargmax", "fc"}, default="softargmax"
        ``"softargmax"``: one logit map per point at stride 8, coordinates as the
        spatial-softmax expectation (integral regression, Nibali et al. 2018);
        ``"fc"``: the course model's flatten + fully connected head.
        See :class:`~sklearn_fkd.nn.KeypointCNN`.
    hidden_units : int, default=256
        ``"fc"`` head only.
    dropout : float, default=0.0
        ``"fc"`` head only.
    schema : KeypointSchema or None, default=None
        Schema of the ``y`` given to ``fit``/``score`` (the nose is taken from it).
    loss : {"mse", "smooth_l1", "wing"}, default="mse"
        Masked coordinate loss.
    """

    def prepare_targets(self, y):
        """The nose tips of ``y`` (the points this model predicts), ``(n, 2)``."""
        flat = check_keypoints(y)
        if flat.shape[1] == 2 and (self.schema is None or self.schema.n_points == 1):
            return flat
        return convert_keypoints(flat, self._schema_of_y(flat.shape[1] // 2), NOSE)

    def _target_schema(self, y_flat):
        return NOSE

    def network_spec(self) -> tuple[str, dict]:
        """The small CNN (see :meth:`KeypointNet.network_spec`)."""
        return "cnn", self._cnn_params()


class FaceKeypointRegressor(_CNNParams, KeypointNet):
    """Regress all keypoints with a small CNN or a ResNet-18.

    Parameters
    ----------
    backbone : {"cnn", "resnet18"}, default="cnn"
        ``"cnn"``: :class:`~sklearn_fkd.nn.KeypointCNN` with the parameters below;
        ``"resnet18"``: torchvision's ResNet-18 with a stem for the image's channels
        (:class:`~sklearn_fkd.nn.ResNet18Keypoints`).
    weights : str, PretrainedWeights, path or None, default=None
        A pretrained model to start from (see below), or for ``backbone="resnet18"`` a
        local torchvision ResNet-18 state dict (loaded with ``weights_only=True``;
        nothing is downloaded).
    channels, kernel_size, convs_per_block, head, hidden_units, dropout
        The CNN's hyperparameters (see :class:`NoseRegressor`); ignored by ResNet-18.
    schema : KeypointSchema or None, default=None
        Schema of ``y``; inferred from the point count when None (1 -> NOSE,
        15 -> KAGGLE15, 58 -> IMM58, 68 -> IBUG68, else generic, without flip pairs).
        Used by ``score`` (NME pair) and by the augmentation's left/right flip.
    loss : {"mse", "smooth_l1", "wing"}, default="mse"
    """

    def __init__(self, *, backbone="cnn", **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone

    _parameter_constraints: ClassVar[dict] = {
        **_CNNParams._parameter_constraints,
        "backbone": Options(*BACKBONES),
    }

    def _takes_state_dict(self) -> bool:
        return self.backbone == "resnet18"

    def network_spec(self) -> tuple[str, dict]:
        """The small CNN or the ResNet-18, by ``backbone`` (see
        :meth:`KeypointNet.network_spec`)."""
        if self.backbone == "cnn":
            return "cnn", self._cnn_params()
        torchvision_weights = None if self._weights_name_a_model() else self.weights
        return "resnet18", {"weights": torchvision_weights}


NoseRegressor.__doc__ += SHARED_PARAMETERS_DOC
FaceKeypointRegressor.__doc__ += SHARED_PARAMETERS_DOC
