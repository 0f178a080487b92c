"""Direct coordinate regression: NoseRegressor and FaceKeypointRegressor."""

from __future__ import annotations

from ..keypoints import NOSE, check_keypoints, convert_keypoints
from ..nn.cnn import KeypointCNN
from ..nn.resnet import ResNet18Keypoints
from ._base import KeypointNet

__all__ = ["FaceKeypointRegressor", "NoseRegressor"]

COMMON_PARAMETERS = """
    augment : "auto", Augment or None, default="auto"
        Train-time augmentation, applied to training batches only, freshly each epoch.
        ``"auto"``: a mild :class:`sklearn_fkd.augment.Augment` with its defaults
        (rotation 10 degrees, shift and zoom 5 %, flips with left/right swap, brightness
        and contrast 10 %), built at fit as ``augment_``; ``None``: none; an ``Augment``:
        that one, whose parameters are then tunable as ``augment__rotation`` etc.
    lr : float, default=1e-3
        Learning rate of the optimizer (AdamW).
    max_epochs : int
        Number of epochs.
    batch_size : int, default=8
        Small batches (many optimizer steps) gave the best held-out error on IMM's 192
        training faces and are no slower per image on a CPU; raise it on a GPU or with
        thousands of images.
    optimizer : torch optimizer class, default=torch.optim.AdamW
        Its options go through ``optimizer__*`` (e.g. ``optimizer__weight_decay``).
    lr_schedule : {"cosine", None}, default="cosine"
        Cosine annealing of the learning rate to 1 % over ``max_epochs``.
    device : str, default="auto"
        ``"auto"`` uses CUDA when present (with bfloat16 autocast and channels-last),
        else the CPU; or any torch device string. The resolved one is ``device_``.
    random_state : int or None, default=None
        Seeds weight initialisation, shuffling and augmentation (reproducible on the
        CPU); the caller's global torch RNG is left untouched.
    train_split : callable or None, default=None
        skorch's internal validation split (e.g. ``skorch.dataset.ValidSplit(0.1)``) for
        ``valid_loss`` in ``history``; None trains on everything.
    callbacks : list of skorch callbacks, optional
        E.g. ``EarlyStopping``, ``Checkpoint``; a cosine ``LRScheduler`` is added by
        ``lr_schedule``.
    warm_start : bool, default=False
        Keep training the same network on a new ``fit``.
    verbose : int, default=0
        1 prints skorch's per-epoch table.
    **kwargs
        Other skorch parameters (``optimizer__*``, ``iterator_train__*``,
        ``callbacks__*``, ``module__*``).

    Attributes
    ----------
    module_ : torch.nn.Module
    schema_ : KeypointSchema
        The schema of the predicted points.
    n_keypoints_ : int
    image_size_ : (int, int)
        ``(H, W)`` of the training images; ``predict`` needs the same.
    n_channels_ : int
    input_mean_, input_std_ : ndarray of shape ``(n_channels_,)``
        Pixel statistics (on the [0, 1] scale) used to standardise inputs.
    device_ : str
    augment_ : Augment or None
        The augmentation in use.
    history_ : skorch History
        Per-epoch ``train_loss`` (and ``valid_loss`` with a ``train_split``), durations.
"""


class _CNNParams:
    """The small-CNN hyperparameters, shared by the two regressors (a mixin before
    :class:`KeypointNet`; the other parameters go to it through ``**kwargs``)."""

    def __init__(
        self,
        *,
        channels=(16, 32, 64, 128, 128),
        kernel_size=3,
        convs_per_block=1,
        head="softargmax",
        hidden_units=256,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.channels = channels
        self.kernel_size = kernel_size
        self.convs_per_block = convs_per_block
        self.head = head
        self.hidden_units = hidden_units
        self.dropout = dropout

    def _cnn(self, n_outputs: int, in_channels: int, **kwargs) -> KeypointCNN:
        params = dict(
            channels=tuple(self.channels),
            kernel_size=self.kernel_size,
            convs_per_block=self.convs_per_block,
            head=self.head,
            hidden_units=self.hidden_units,
            dropout=self.dropout,
        )
        params.update(kwargs)
        return KeypointCNN(n_outputs, in_channels=in_channels, **params)


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

    def _prepare_targets(self, y):
        flat = check_keypoints(y)
        if flat.shape[1] == 2 and (self.schema is None or self.schema.n_points == 1):
            return flat
        return convert_keypoints(flat, self._schema_of_y(flat.shape[1] // 2), NOSE)

    def _target_schema(self, y_flat):
        return NOSE

    def _build_module(self, n_keypoints, in_channels, **kwargs):
        return self._cnn(2 * n_keypoints, in_channels, **kwargs)


class FaceKeypointRegressor(_CNNParams, KeypointNet):
    """Regress all keypoints with a small CNN or a ResNet-18.

    Parameters
    ----------
    backbone : {"cnn", "resnet18"}, default="cnn"
        ``"cnn"``: :class:`~sklearn_fkd.nn.KeypointCNN` with the parameters below;
        ``"resnet18"``: torchvision's ResNet-18 with a stem for the image's channels
        (:class:`~sklearn_fkd.nn.ResNet18Keypoints`).
    weights : str or path-like, optional
        ResNet-18 only: a local torchvision state dict to start from (loaded with
        ``weights_only=True``; nothing is downloaded).
    channels, kernel_size, convs_per_block, head, hidden_units, dropout
        The CNN's hyperparameters (see :class:`NoseRegressor`); ignored by ResNet-18.
    schema : KeypointSchema or None, default=None
        Schema of ``y``; inferred from the point count when None (1 -> NOSE,
        15 -> KAGGLE15, 58 -> IMM58, 68 -> IBUG68, else generic, without flip pairs).
        Used by ``score`` (NME pair) and by the augmentation's left/right flip.
    loss : {"mse", "smooth_l1", "wing"}, default="mse"
    """

    def __init__(self, *, backbone="cnn", weights=None, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone
        self.weights = weights

    def _build_module(self, n_keypoints, in_channels, **kwargs):
        if self.backbone == "cnn":
            if self.weights is not None:
                raise ValueError("weights= is only for backbone='resnet18'")
            return self._cnn(2 * n_keypoints, in_channels, **kwargs)
        if self.backbone == "resnet18":
            return ResNet18Keypoints(
                2 * n_keypoints, in_channels=in_channels, weights=self.weights, **kwargs
            )
        raise ValueError(f"backbone must be 'cnn' or 'resnet18', got {self.backbone!r}")


NoseRegressor.__doc__ += COMMON_PARAMETERS
FaceKeypointRegressor.__doc__ += COMMON_PARAMETERS
