"""The base of the three estimators, :class:`KeypointNet`: a skorch ``NeuralNet`` that
speaks images and pixel keypoints.

Coordinates inside the network are normalised to ``[-1, 1]`` over the image extent
(``u = (2x + 1) / W - 1``), the ``align_corners=False`` convention of ``affine_grid``,
so augmentation moves pixels and targets with one matrix, exactly.

Subclasses implement the hook :meth:`KeypointNet.network_spec` (which network, by
name) or :meth:`KeypointNet.build_module` (any network), and may override
:meth:`KeypointNet.prepare_targets` (which points of ``y`` the model predicts),
:meth:`KeypointNet.decode_outputs` (network outputs to coordinates),
``initialize_criterion`` (the loss) and ``_check_params`` (their own parameters).
"""

from __future__ import annotations

import functools
import numbers
import os
import sys
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import LRScheduler
from skorch.utils import to_numpy

from ..augment import Augment
from ..callbacks import EpochProgressBar, FreezeEncoder, StopOnNonFiniteLoss
from ..keypoints import (
    KeypointSchema,
    check_keypoints,
    conversion_groups,
    infer_schema,
    to_points,
)
from ..metrics import KeypointScorer, nme
from ..nn.fusion import fused_for_inference
from ..nn.heatmaps import normalized_to_pixels, pixels_to_normalized
from ..nn.losses import LOSS_KINDS, MaskedKeypointLoss
from ..nn.registry import NETWORKS, build_network
from ..nn.transfer import MapsToCoordinates, transfer_weights
from ..pretrained import weights_kind
from ..utils.validation import check_consistent_length, check_in, check_number
from .dataset import BatchIterator, KeypointDataset, channel_stats, images_to_tensor

__all__ = ["SHARED_PARAMETERS_DOC", "KeypointNet", "resolve_device"]


CPU_INFERENCE_CHUNK = 16
PRECISIONS = ("auto", "bfloat16", "float32")
#: arguments of the in-memory BatchIterator, and those only torch's DataLoader takes
BATCH_ITERATOR_ARGS = frozenset({"batch_size", "shuffle", "drop_singleton", "shard"})
DATALOADER_ARGS = frozenset(
    {
        "num_workers",
        "pin_memory",
        "persistent_workers",
        "prefetch_factor",
        "collate_fn",
        "worker_init_fn",
        "generator",
        "timeout",
        "drop_last",
        "sampler",
        "batch_sampler",
        "multiprocessing_context",
        "pin_memory_device",
        "in_order",
    }
)
#: share of the training keypoints outside their images above which fit warns
OUTSIDE_WARNING_SHARE = 0.1
#: how many image sizes outside its image a training point may lie before fit refuses it
FAR_OUTSIDE = 10
#: training images on which fit measures the prediction offset (correct_flip_offset)
OFFSET_SAMPLES = 1000


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


class FitState(torch.nn.Module):
    """What fit learned from the data, as buffers of the network (so its state dict
    carries them): input statistics, image size ``(H, W)``, mean shape and spread
    ``(K, 2)`` in pixels (NaN for never-annotated points), and the prediction offset
    ``(2,)`` in pixels (``correct_flip_offset``; zero in weights saved before it)."""

    KEYS = (
        "input_mean",
        "input_std",
        "image_size",
        "mean_shape",
        "mean_shape_std",
        "prediction_offset",
    )

    def __init__(
        self, input_mean, input_std, image_size, mean_shape, mean_shape_std, prediction_offset
    ):
        super().__init__()
        values = (input_mean, input_std, image_size, mean_shape, mean_shape_std, prediction_offset)
        for key, value in zip(self.KEYS, values, strict=True):
            tensor = torch.as_tensor(np.asarray(value, dtype=np.float64))
            if key.startswith("mean_shape"):
                tensor = tensor.reshape(-1, 2)
            self.register_buffer(key, tensor.clone())

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # weights saved before the offset existed load with none (as BatchNorm fills in
        # num_batches_tracked)
        state_dict.setdefault(f"{prefix}prediction_offset", torch.zeros(2, dtype=torch.float64))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


#: the largest image side a fit state may record
MAX_IMAGE_SIDE = 8192


def read_fit_state(state: dict) -> dict[str, np.ndarray]:
    """The ``fit_state.*`` buffers of a state dict as float64 arrays, checked.

    Raises
    ------
    ValueError
        The buffers are missing, or hold numbers a fit cannot produce: non-finite or
        non-positive input spreads, an image size that is not 1 to ``MAX_IMAGE_SIDE``
        whole pixels, an infinite mean shape, or a non-finite prediction offset or one
        larger than the image.
    """
    state = {"fit_state.prediction_offset": torch.zeros(2), **state}  # older weights
    try:
        values = {
            k: state[f"fit_state.{k}"].detach().cpu().double().numpy() for k in FitState.KEYS
        }
    except KeyError:
        raise ValueError(
            "these weights carry no fit_state (input statistics, image size, mean "
            "shape): they were not saved by this version's save_params; load them "
            "into an estimator fitted on the same kind of data"
        ) from None
    mean, std, size = values["input_mean"], values["input_std"], values["image_size"]
    shape, spread = values["mean_shape"], values["mean_shape_std"]
    offset = values["prediction_offset"].reshape(-1)

    def refuse(what: str) -> None:
        raise ValueError(f"the weights' fit_state is not one a fit produces: {what}")

    if mean.ndim != 1 or mean.shape != std.shape or not 1 <= len(mean) <= 4:
        refuse(f"input statistics of shapes {mean.shape} and {std.shape}")
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
        refuse(f"input mean {mean.tolist()} and std {std.tolist()} (finite, std > 0)")
    if size.shape != (2,) or not (
        np.isfinite(size).all() and (size == np.round(size)).all()
        and (size >= 1).all() and (size <= MAX_IMAGE_SIDE).all()
    ):  # fmt: skip
        refuse(f"image size {size.tolist()}")
    limit = 100.0 * float(size.max())
    if shape.ndim != 2 or shape.shape[1] != 2 or shape.shape != spread.shape or not len(shape):
        refuse(f"mean shape of shape {shape.shape} with spread {spread.shape}")
    if (np.abs(shape) > limit).any() or (np.abs(spread) > limit).any() or (spread < 0).any():
        refuse("a mean shape or spread outside 100 image sizes (NaN marks unknown points)")
    if (
        offset.shape != (2,)
        or not np.isfinite(offset).all()
        or (np.abs(offset) > size.max()).any()
    ):
        refuse(f"prediction offset {offset.tolist()} (finite, within the image size)")
    return values


def network_for(spec, n_keypoints: int, n_channels: int, output: str) -> torch.nn.Module:
    """The network a spec ``(name, params)`` names, for ``n_keypoints`` points,
    ``n_channels`` input channels and an estimator of ``output`` kind (a heatmap network
    read out as coordinates by a regressor)."""
    name, params = spec
    module = build_network(name, dict(params), n_keypoints, n_channels)
    made = NETWORKS[name][1]
    if output == made:
        return module
    if output == "coordinates" and made == "maps":
        return MapsToCoordinates(module)
    raise ValueError(f"an estimator of {output} needs another network; {name!r} outputs {made}")


def _read_state_dict(f_params, use_safetensors: bool) -> dict:
    """A state dict from a path or file, as skorch's ``load_params`` reads it."""
    if use_safetensors:
        from safetensors.torch import load, load_file

        if isinstance(f_params, (str, os.PathLike)):
            return load_file(f_params)
        data = f_params.read()
        f_params.seek(0)
        return load(data)
    position = None if isinstance(f_params, (str, os.PathLike)) else f_params.tell()
    state = torch.load(f_params, map_location="cpu", weights_only=True)
    if position is not None:
        f_params.seek(position)
    return state


#: the parameters every estimator shares, appended to each one's numpydoc docstring
SHARED_PARAMETERS_DOC = """
    augment : "auto", Augment or None, default="auto"
        Train-time augmentation, applied to training batches only, freshly each epoch.
        ``"auto"``: a mild :class:`sklearn_fkd.augment.Augment` with its defaults
        (rotation 10 degrees, shift and zoom 5 %, flips with left/right swap, brightness
        and contrast 10 %), built at fit as ``augment_``; ``None``: none; an ``Augment``:
        that one, whose parameters are then tunable as ``augment__rotation`` etc. Flips
        need the schema's ``flip_pairs``: a schema without them is not flipped.
    lr : float, default=1e-3
        Learning rate of the optimizer (AdamW).
    max_epochs : int, default=120 (the two regressors) or 60 (HeatmapKeypointEstimator)
        Number of epochs (>= 1). The regressors' small CNN is cheap per epoch and keeps
        improving on small data sets (IMM's 192 faces); the heatmap networks cost
        several times more per epoch. Lower it for thousands of images or for a
        pretrained start (``weights=``).
    batch_size : int, default=8
        Training and inference batch size (>= 1, or -1 for all samples in one batch).
        Small batches (many optimizer steps) suit small data sets such as IMM's 192
        training faces; raise it on a GPU or with thousands of images.
    optimizer : torch optimizer class, default=torch.optim.AdamW
        Its options go through ``optimizer__*`` (e.g. ``optimizer__weight_decay``).
    lr_schedule : {"cosine", None}, default="cosine"
        Cosine annealing of the learning rate to 1 % over ``max_epochs``.
    device : str, default="auto"
        ``"auto"`` uses CUDA when present, else the CPU; or any torch device string.
        The resolved one is ``device_``.
    random_state : int or None, default=None
        Seeds weight initialisation, shuffling and augmentation (reproducible on the
        same machine); the caller's global torch RNG is left untouched.
    mean_shape_start : bool, default=True
        Start from the mean training shape: the untrained network predicts it, and
        training learns how each face departs from it (:mod:`sklearn_fkd.nn.prior`),
        so a small, well-aligned data set does not end up worse than its mean shape.
    weights : str, PretrainedWeights, path or None, default=None
        Start from a pretrained network (fine-tuning): a shipped model's name
        (``"ibug68"``, see :func:`sklearn_fkd.list_pretrained`), a
        :class:`~sklearn_fkd.pretrained.PretrainedWeights` member, or a model file
        saved by :func:`~sklearn_fkd.persistence.save_model`. The network is then the
        pretrained one's (its architecture parameters, not this estimator's) with its
        weights; for other points (another schema) the encoder is kept and the last
        layer starts anew (from the mean shape), or from the pretrained points it
        converts from (IBUG68 -> NOSE, KAGGLE15). Loaded at fit, so a search can vary
        it.
    freeze_encoder : int, default=0
        With ``weights``: train only the last layer for this many epochs first.
    precision : {"auto", "bfloat16", "float32"}, default="auto"
        Arithmetic of the forward passes under autocast (the weights stay float32).
        ``"auto"``: bfloat16 on CUDA, and for training on CPUs with native bfloat16
        units (Intel AMX or AVX512-BF16, about twice the float32 speed); float32
        elsewhere. CPU inference always runs in float32.
    test_flip : bool, default=False
        Average each prediction with the prediction on the mirrored image (its points
        swapped back by the schema's ``flip_pairs``): test-time flip augmentation, for
        twice the inference cost. Needs a schema with ``flip_pairs``.
    correct_flip_offset : bool, default=True
        When the training flipped images: at the end of fit, measure the median offset
        of the predictions from the targets on up to 1,000 training images (not
        augmented), store it as ``prediction_offset_`` and subtract it at predict. A
        network trained on flips cannot learn an offset between where the annotations
        put the points and their mirror-symmetric position (a flipped image asks for
        the opposite offset), so it predicts without it: on the shared 68-point faces
        the points are about 1 px left of the annotations (see the estimators page).
        Costs one prediction pass over those images; False neither measures nor
        subtracts it.
    progress : {"auto", True, False}, default="auto"
        A progress bar over the epochs (the last loss, the time left): ``"auto"`` shows
        it when the standard error stream is a terminal, so an interactive fit says it
        is running and scripts, logs and tests stay quiet. A callback of your own named
        ``"progress"`` replaces it.
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
    mean_shape_, mean_shape_std_ : ndarray of shape ``(2 * n_keypoints_,)``
        Mean and standard deviation of the training keypoints, pixels (the baseline a
        model has to beat; NaN for a point never annotated).
    prediction_offset_ : ndarray of shape ``(2,)``
        ``(x, y)`` offset, pixels, that ``predict`` subtracts (``correct_flip_offset``;
        zeros when not measured).
    device_ : str
    augment_ : Augment or None
        The augmentation in use.
    history_ : skorch History
        Per-epoch ``train_loss`` (and ``valid_loss`` with a ``train_split``), durations.
"""


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


class KeypointNet(NeuralNet):
    """Base of the keypoint estimators: a skorch ``NeuralNet`` that speaks images and
    pixel keypoints.

    Subclasses implement :meth:`network_spec` (a network of the registry) or
    :meth:`build_module` (any network), and may override :meth:`prepare_targets`,
    :meth:`decode_outputs`, ``initialize_criterion`` and ``_check_params`` (calling
    ``super()``). Parameters shared by all estimators are documented on the subclasses.
    """

    #: width of the mean-shape prior (``mean_shape_start``) of networks that output
    #: logit maps, in standard deviations of the training positions
    mean_shape_prior_width: float = 1.0

    def __init__(
        self,
        *,
        schema: KeypointSchema | None = None,
        augment: Augment | str | None = "auto",
        loss: str = "mse",
        lr: float = 1e-3,
        max_epochs: int = 60,
        batch_size: int = 8,
        optimizer=torch.optim.AdamW,
        lr_schedule: str | None = "cosine",
        device: str = "auto",
        random_state: int | None = None,
        mean_shape_start: bool = True,
        weights=None,
        freeze_encoder: int = 0,
        precision: str = "auto",
        test_flip: bool = False,
        correct_flip_offset: bool = True,
        progress: bool | str = "auto",
        train_split=None,
        callbacks=None,
        warm_start: bool = False,
        verbose: int = 0,
        **kwargs,
    ):
        super().__init__(
            module=torch.nn.Identity,  # replaced by build_module at initialize()
            criterion=MaskedKeypointLoss,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            iterator_train=BatchIterator,
            iterator_valid=BatchIterator,
            dataset=KeypointDataset,
            train_split=train_split,
            callbacks=callbacks,
            warm_start=warm_start,
            verbose=verbose,
            device=device,
            **kwargs,
        )
        self.schema = schema
        self.augment = augment
        self.loss = loss
        self.lr_schedule = lr_schedule
        self.random_state = random_state
        self.mean_shape_start = mean_shape_start
        self.weights = weights
        self.freeze_encoder = freeze_encoder
        self.precision = precision
        self.test_flip = test_flip
        self.correct_flip_offset = correct_flip_offset
        self.progress = progress

    # -- construction ----------------------------------------------------------------

    #: what the network outputs: "coordinates" (B, 2K) or logit "maps" decoded later
    OUTPUT = "coordinates"

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

    def network_spec(self) -> tuple[str, dict]:
        """Override this to name the network the parameters ask for.

        Returns
        -------
        name : str
            A network of :data:`sklearn_fkd.nn.registry.NETWORKS` (``"fpn"``...).
        params : dict
            Its constructor's arguments besides the point and channel counts.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement network_spec or build_module"
        )

    def build_module(self, n_keypoints: int, in_channels: int, **kwargs) -> torch.nn.Module:
        """The network for ``n_keypoints`` points: :meth:`network_spec`'s, with the
        ``module__*`` parameters. Override this for a network outside the registry
        (such an estimator is saved with ``format="pickle"``).

        Parameters
        ----------
        n_keypoints : int
            ``K``, the points the model predicts.
        in_channels : int
            Channels of the training images.
        **kwargs
            The ``module__*`` parameters.

        Returns
        -------
        torch.nn.Module
            Maps ``(B, in_channels, H, W)`` standardised images to outputs that
            :meth:`decode_outputs` turns into ``(B, 2K)`` normalised coordinates.
        """
        name, params = self.network_spec()
        return build_network(name, {**params, **kwargs}, n_keypoints, in_channels)

    def initialize_module(self):
        """Build the network for the fitted point count and channels."""
        # set here too: AccelerateMixin.initialize replaces ours
        self.device_ = self._resolved_device()
        kwargs = self.get_params_for("module")
        loading = getattr(self, "_loading_weights", False)
        source = None
        if loading and getattr(self, "network_spec_", None) is not None:
            spec = self.network_spec_  # recorded with the weights being loaded
        elif self._weights_name_a_model():
            source = self._pretrained_source()
            spec = source.network_spec_
        elif type(self).build_module is not KeypointNet.build_module:  # a custom network
            spec = None
        else:
            name, params = self.network_spec()
            spec = (name, {**params, **kwargs})
        if spec is None:
            module = self.build_module(self.n_keypoints_, self.n_channels_, **kwargs)
        else:
            module = self._network_of(spec)
            if spec[1].get("weights") is not None:  # a state dict read into the network
                spec = (spec[0], {**spec[1], "weights": None})
        self.network_spec_ = spec
        if loading:
            source = None  # the weights come from the file
        start = getattr(module, "start_from_mean_shape", None)
        if self.mean_shape_start and start is not None:
            start(*self._normalized_mean_shape())
        if source is not None:
            self.weights_transfer_ = self._transfer_from(source, module)
        # what fit learned from the data travels in the state dict, so that weights saved
        # with save_params load into a new estimator and predict the same
        module.fit_state = FitState(
            self.input_mean_,
            self.input_std_,
            self.image_size_,
            self.mean_shape_,
            self.mean_shape_std_,
            np.zeros(2),  # measured at the end of fit (correct_flip_offset)
        )
        self.prediction_offset_ = np.zeros(2)
        # channels-last: faster convolutions on CUDA and with oneDNN on the CPU
        self.module_ = module.to(self.device_).to(memory_format=torch.channels_last)
        return self

    def _takes_other_weights(self) -> bool:
        """Whether ``weights`` may also be something else than a model to start from
        (``FaceKeypointRegressor``'s ResNet-18 takes a torchvision state dict)."""
        return False

    def _weights_name_a_model(self) -> bool:
        """Whether ``weights`` names a model to start from (see
        :func:`~sklearn_fkd.pretrained.weights_kind`)."""
        return self.weights is not None and weights_kind(self.weights) == "model"

    def _pretrained_source(self):
        """The fitted estimator whose network ``weights`` names."""
        from ..persistence import load_model
        from ..pretrained import resolve_weights
        from ..utils.meta import final_estimator

        _, source = final_estimator(load_model(resolve_weights(self.weights)))
        if not isinstance(source, KeypointNet):
            raise ValueError(f"weights={self.weights!r} holds no keypoint network")
        return source

    def _network_of(self, spec) -> torch.nn.Module:
        """The network a spec names, for this estimator's points, channels and output."""
        return network_for(spec, self.n_keypoints_, self.n_channels_, self.OUTPUT)

    def _transfer_from(self, source: KeypointNet, module: torch.nn.Module) -> dict:
        """Copy ``source``'s weights into ``module`` (see :func:`transfer_weights`)."""
        state = source.module_.state_dict()
        if isinstance(module, MapsToCoordinates) and not isinstance(
            source.module_, MapsToCoordinates
        ):
            state = {f"net.{k}": v for k, v in state.items()}
        groups = None
        if source.schema_ != self.schema_:
            groups = conversion_groups(source.schema_, self.schema_)
        head = tuple(getattr(module, "HEAD", ("head",)))
        report = transfer_weights(state, module, head=head, head_groups=groups)
        report["source"] = f"{self.weights}: {type(source).__name__} ({source.schema_.name})"
        return report

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

    def initialize_criterion(self):
        """The masked coordinate loss chosen by ``loss``."""
        self.criterion_ = MaskedKeypointLoss(self.loss).to(self.device_)
        return self

    @property
    def _default_callbacks(self):
        """skorch's defaults plus the cosine schedule (validated in fit, not here)."""
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
        return callbacks

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

    def _accelerator(self):
        """The ``accelerator`` of skorch's ``AccelerateMixin``, if mixed in."""
        return getattr(self, "accelerator", None)

    def _resolved_device(self) -> str:
        accelerator = self._accelerator()
        if accelerator is not None and self.device is None:
            return str(accelerator.device)
        return resolve_device(self.device)

    def initialize(self):
        """Initialise skorch's components; the network only once its size is known.

        The network's size (points, channels, image size) comes from the data: after
        ``fit``, or from the weights :meth:`load_params` reads. Before either, this
        initialises the callbacks and the history only, so skorch's idiom
        ``net.initialize(); net.load_params(f_params=...)`` works on a new estimator.
        """
        self.device_ = self._resolved_device()
        with self._skorch_device():
            if hasattr(self, "n_keypoints_"):
                return super().initialize()
            self.check_training_readiness()
            self._initialize_virtual_params()
            self._initialize_callbacks()
            self._initialize_history()
            self.initialized_ = True
            return self

    def __setstate__(self, state):
        requested = state["device"]
        state["device"] = resolve_device(requested)
        super().__setstate__(state)
        self.device_ = self.device  # skorch falls back to the CPU when CUDA is gone
        self.device = requested

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
            self._restore_fit_state(_read_state_dict(f_params, use_safetensors))
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
        values = read_fit_state(state)
        self.input_mean_ = values["input_mean"].astype(np.float32)
        self.input_std_ = values["input_std"].astype(np.float32)
        self.image_size_ = tuple(int(v) for v in values["image_size"])
        self.mean_shape_ = values["mean_shape"].reshape(-1)
        self.mean_shape_std_ = values["mean_shape_std"].reshape(-1)
        self.prediction_offset_ = values["prediction_offset"].reshape(2)
        self.n_channels_ = len(self.input_mean_)
        self.n_keypoints_ = len(self.mean_shape_) // 2
        self.schema_ = self._target_schema(np.zeros((1, 2 * self.n_keypoints_)))

    # -- parameters ------------------------------------------------------------------

    def _check_params(self) -> None:
        """Check the parameters (once, at fit, as scikit-learn asks) and resolve
        ``augment`` into ``augment_``. Subclasses extend it for their own."""
        check_number(self.lr, "lr", low=0, low_inclusive=False)
        check_number(self.max_epochs, "max_epochs", integer=True, low=1)
        check_number(self.batch_size, "batch_size", integer=True, low=1, allowed=(-1,))
        check_in(self.loss, "loss", LOSS_KINDS)
        check_in(self.lr_schedule, "lr_schedule", ("cosine", None))
        check_in(self.precision, "precision", PRECISIONS)
        check_in(self.test_flip, "test_flip", (False, True))
        check_in(self.correct_flip_offset, "correct_flip_offset", (False, True))
        check_in(self.progress, "progress", ("auto", False, True))
        check_in(self.mean_shape_start, "mean_shape_start", (False, True))
        check_number(self.freeze_encoder, "freeze_encoder", integer=True, low=0)
        if self.freeze_encoder and self.weights is None:
            raise ValueError("freeze_encoder needs weights= (a pretrained encoder to keep)")
        if self.weights is not None:
            kind = weights_kind(self.weights)  # an unknown name or file: say so
            if kind == "state_dict" and not self._takes_other_weights():
                raise ValueError(
                    f"weights={str(self.weights)!r} is a torch state dict; only "
                    "FaceKeypointRegressor(backbone='resnet18') starts from one (a "
                    "torchvision ResNet-18's); other estimators take a model file or name"
                )
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

    # -- data ------------------------------------------------------------------------

    def _schema_of_y(self, n_points: int) -> KeypointSchema:
        """The ``schema`` parameter, or the one inferred from ``y``'s point count."""
        return self.schema if self.schema is not None else infer_schema(n_points)

    def _target_schema(self, y_flat: np.ndarray) -> KeypointSchema:
        """The schema of the points the model predicts."""
        k = y_flat.shape[1] // 2
        schema = self._schema_of_y(k)
        if schema.n_points != k:
            raise ValueError(f"schema {schema.name!r} has {schema.n_points} points, y has {k}")
        return schema

    def prepare_targets(self, y) -> np.ndarray:
        """Override this to select the points the model predicts from a caller's ``y``.

        The scorers call it too, so a model is scored on the points it predicts (a
        :class:`~sklearn_fkd.NoseRegressor` given full IMM shapes takes their nose tips).

        Parameters
        ----------
        y : array-like of shape (n, 2K) or (n, K, 2)

        Returns
        -------
        ndarray of shape (n, 2K'), float64
            Validated flat keypoints (a new array).
        """
        return check_keypoints(y)

    def _normalize(self, y: np.ndarray) -> np.ndarray:
        """Pixels of the training frame -> ``[-1, 1]`` (flat ``(n, 2K)``, float64)."""
        points = pixels_to_normalized(torch.from_numpy(to_points(y)), self.image_size_)
        return points.reshape(len(y), -1).numpy()

    def _denormalize(self, u: np.ndarray) -> np.ndarray:
        """``[-1, 1]`` -> pixels of the training frame (flat ``(n, 2K)``, float64)."""
        u = torch.from_numpy(np.asarray(u, dtype=np.float64))
        return (
            normalized_to_pixels(u.view(len(u), -1, 2), self.image_size_)
            .reshape(len(u), -1)
            .numpy()
        )

    def _normalized_mean_shape(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``mean_shape_`` and its spread (``mean_shape_prior_width`` standard
        deviations) in ``[-1, 1]`` units, ``(K, 2)`` each; never-annotated points get the
        centre and a flat prior."""
        h, w = self.image_size_
        mean = torch.from_numpy(self._normalize(self.mean_shape_[None])[0]).view(-1, 2)
        scale = torch.tensor([2.0 / w, 2.0 / h], dtype=torch.float64)
        spread = torch.from_numpy(self.mean_shape_std_).view(-1, 2) * scale
        spread = spread * self.mean_shape_prior_width
        unknown = torch.isnan(mean).any(dim=1) | torch.isnan(spread).any(dim=1)
        mean[unknown], spread[unknown] = 0.0, 1e3
        return mean.float(), spread.clamp_min(1e-3).float()

    def _check_images(self, X) -> torch.Tensor:
        """Validated images of the fitted size and channel count, as a tensor; warns when
        float pixels are on another scale than the training pixels."""
        Xt = self._check_image_shape(images_to_tensor(X))
        scale = 255.0 if Xt.dtype == torch.uint8 else 1.0
        given = float(Xt[:256].float().mean()) / scale  # as the network will see them
        fitted = float(np.mean(self.input_mean_))
        if fitted > 1e-3 and given > 1e-3 and not 1 / 20 < given / fitted < 20:
            warnings.warn(
                f"X's pixels average {given:.3g} as the network sees them, the training "
                f"pixels {fitted:.3g}: uint8 images are scaled to [0, 1], float images are "
                "taken as they are; give X on the scale the model was fitted on",
                UserWarning,
                stacklevel=3,
            )
        return Xt

    def _check_image_shape(self, Xt: torch.Tensor) -> torch.Tensor:
        c, h, w = Xt.shape[1:]
        if (c, h, w) != (self.n_channels_, *self.image_size_):
            raise ValueError(
                f"X has images of {h}x{w} with {c} channel(s); the estimator was fitted on "
                f"{self.image_size_[0]}x{self.image_size_[1]} with {self.n_channels_}"
            )
        return Xt

    def _training_data(self, X, y, reset: bool) -> KeypointDataset:
        """Validate ``X``, ``y`` and build the in-memory dataset (fitted stats on reset)."""
        Xt = images_to_tensor(X)
        y_flat = self.prepare_targets(y)
        check_consistent_length(X=Xt, y=y_flat)
        if reset:
            self.schema_ = self._target_schema(y_flat)
            self.n_keypoints_ = self.schema_.n_points
            self.n_channels_ = int(Xt.shape[1])
            self.image_size_ = (int(Xt.shape[2]), int(Xt.shape[3]))
            mean, std = channel_stats(Xt)
            self.input_mean_ = mean.astype(np.float32)
            self.input_std_ = np.maximum(std, 1e-6).astype(np.float32)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # never-annotated points
                self.mean_shape_ = np.nanmean(y_flat, axis=0)
                self.mean_shape_std_ = np.nanstd(y_flat, axis=0)
        else:
            self._check_image_shape(Xt)
            if y_flat.shape[1] != 2 * self.n_keypoints_:
                raise ValueError(
                    f"y has {y_flat.shape[1] // 2} points, the estimator was fitted on "
                    f"{self.n_keypoints_}"
                )
        empty = np.isnan(y_flat).all(axis=1)
        if empty.all():
            raise ValueError("every row of y is missing (all NaN); nothing to learn from")
        self._check_points_inside(y_flat, (int(Xt.shape[2]), int(Xt.shape[3])))
        if empty.any():
            warnings.warn(
                f"{int(empty.sum())} of {len(empty)} training rows have no keypoint (all "
                "NaN) and are left out of the loss",
                UserWarning,
                stacklevel=3,
            )
            Xt, y_flat = Xt[torch.from_numpy(~empty)], y_flat[~empty]
        dataset = KeypointDataset(Xt, torch.from_numpy(self._normalized_targets(y_flat)))
        dataset.rows = np.flatnonzero(~empty)  # which rows of y it holds
        return dataset

    def _normalized_targets(self, y_flat: np.ndarray) -> np.ndarray:
        """``y`` in ``[-1, 1]`` units, float32; points more than ``FAR_OUTSIDE`` image
        sizes outside their image (a 1e308, keypoints of another frame) are refused:
        they would overflow the loss to NaN."""
        with np.errstate(over="ignore", invalid="ignore"):
            normalized = self._normalize(y_flat).astype(np.float32)
            far = np.abs(normalized) > 2 * FAR_OUTSIDE + 1
        if far.any():
            i, j = np.argwhere(far)[0]
            raise ValueError(
                f"y[{i}, {j}] = {y_flat[i, j]:g} lies more than {FAR_OUTSIDE} image sizes "
                "outside its image: keypoints must be finite pixel coordinates of these "
                "images"
            )
        return normalized

    @staticmethod
    def _check_points_inside(y_flat: np.ndarray, size: tuple[int, int]) -> None:
        """Refuse targets that all lie outside their images, warn when many do: outside
        points are trained around after augmentation, which would leave nothing to learn
        (e.g. keypoints of the original photos given with resized images)."""
        points = to_points(y_flat)
        h, w = size
        visible = ~np.isnan(points).any(axis=2)
        with np.errstate(invalid="ignore"):
            outside = (
                (points[..., 0] < -0.5)
                | (points[..., 0] > w - 0.5)
                | (points[..., 1] < -0.5)
                | (points[..., 1] > h - 0.5)
            ) & visible
        share = outside.sum() / max(1, visible.sum())
        example = ""
        if outside.any():
            i, k = np.argwhere(outside)[0]
            example = f" (e.g. row {i}, point {k} at {points[i, k].round(1).tolist()})"
        if share == 1:
            raise ValueError(
                f"every keypoint of y lies outside its {w}x{h} image{example}: are the "
                "keypoints in the pixels of these images (not of the originals before a "
                "resize or crop)?"
            )
        if share > OUTSIDE_WARNING_SHARE:
            warnings.warn(
                f"{share:.0%} of the keypoints of y lie outside their {w}x{h} images"
                f"{example}; are they in the pixels of these images?",
                UserWarning,
                stacklevel=4,
            )

    def get_iterator(self, dataset, training=False):
        """The batches of ``dataset``: the in-memory :class:`BatchIterator`, or torch's
        ``DataLoader`` when ``iterator_train__*``/``iterator_valid__*`` give arguments
        only a DataLoader has (``num_workers``, ``pin_memory``...)."""
        prefix = "iterator_train" if training else "iterator_valid"
        given = self.get_params_for(prefix)
        iterator = self.iterator_train if training else self.iterator_valid
        kwargs = {"shuffle": True, "drop_singleton": True} if training else {}
        kwargs.update(given)
        kwargs.setdefault("batch_size", self.batch_size)
        accelerator = self._accelerator()
        if training and accelerator is not None and accelerator.num_processes > 1:
            if self.random_state is None:
                raise ValueError(
                    "training in several processes needs random_state: every process must "
                    "shuffle the same way to draw disjoint shards"
                )
            kwargs.setdefault("shard", (accelerator.process_index, accelerator.num_processes))
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        unknown = set(given) - BATCH_ITERATOR_ARGS - DATALOADER_ARGS
        if unknown:
            raise TypeError(
                f"{', '.join(f'{prefix}__{k}' for k in sorted(unknown))}: not an argument of "
                "the estimators' batch iterator nor of torch.utils.data.DataLoader"
            )
        if iterator is BatchIterator and set(given) & DATALOADER_ARGS:
            iterator = torch.utils.data.DataLoader
        if iterator is not BatchIterator:
            if "shard" in kwargs:
                raise ValueError("sharded training (several processes) needs the batch iterator")
            kwargs.pop("drop_singleton", None)
            kwargs.setdefault("drop_last", training and len(dataset) % kwargs["batch_size"] == 1)
        return iterator(dataset, **kwargs)

    # -- fitting ---------------------------------------------------------------------

    @contextmanager
    def _seeded(self):
        """Run under ``random_state`` without touching the caller's global torch RNG."""
        if self.random_state is None:
            yield
            return
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.random_state))
            yield

    def fit(self, X, y, **fit_params):
        """Fit the network (re-initialised unless ``warm_start``).

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or (n, H, W, C), or a list of same-size images
            uint8 (0..255) or float images.
        y : array-like of shape (n, 2K) or (n, K, 2)
            Keypoints in pixels of ``X``; NaN = missing (trained around).
        **fit_params
            Passed to skorch's ``fit``; ``groups=`` (one per image) reaches a
            ``train_split`` such as ``ValidSplit(GroupShuffleSplit(test_size=0.1))`` for
            a person-disjoint validation split.

        Returns
        -------
        self
        """
        self._check_params()
        if isinstance(X, KeypointDataset):  # skorch's fit goes on in partial_fit
            return super().fit(X, None, **fit_params)
        reset = not (self.warm_start and getattr(self, "initialized_", False))
        return self._train(X, y, reset=reset, seed=True, **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initialising.

        Keeps the module, the optimizer state and the history; the first call
        initialises like :meth:`fit`.
        """
        self._check_params()
        if isinstance(X, KeypointDataset):
            if getattr(self, "initialized_", False):
                self._ensure_optimizer()
            return super().partial_fit(X, None, **fit_params)
        first = not getattr(self, "initialized_", False)
        return self._train(X, y, reset=first, seed=first, **fit_params)

    def _train(self, X, y, *, reset: bool, seed: bool, **fit_params):
        """Validate, (re-)initialise when ``reset``, and run skorch's training loop;
        under ``random_state`` when ``seed``."""
        with self._seeded() if seed else nullcontext():
            dataset = self._training_data(X, y, reset=reset)
            if self.test_flip and self.schema_.flip_pairs is None:
                raise ValueError(
                    f"test_flip=True needs to know how points mirror: schema "
                    f"{self.schema_.name!r} has no flip_pairs"
                )
            self._check_validation_needs()
            if fit_params.get("groups") is not None:  # for a grouped validation split
                groups = np.asarray(fit_params["groups"])
                check_consistent_length(y=y, groups=groups)
                fit_params["groups"] = groups[dataset.rows]
            if reset:
                self.initialize()
            self._warn_if_not_flipped()
            self._ensure_optimizer()
            super().partial_fit(dataset, None, **fit_params)
            self._measure_prediction_offset(dataset)
        if len(self.history) and "train_loss" not in self.history[-1]:
            self.history.pop()  # an epoch interrupted (Ctrl-C) before it finished
        return self

    def _trained_on_flips(self) -> bool:
        return (
            self.augment_ is not None
            and bool(self.augment_.flip)
            and self._flip_permutation() is not None
        )

    def _measure_prediction_offset(self, dataset: KeypointDataset) -> None:
        """At the end of fit: :meth:`fit_prediction_offset` on the training images when
        ``correct_flip_offset`` and the training flipped, else no offset."""
        if self.correct_flip_offset and self._trained_on_flips() and len(self.history):
            self._set_prediction_offset(dataset)
        else:
            self._store_prediction_offset(np.zeros(2))

    def fit_prediction_offset(self, X, y):
        """Measure ``prediction_offset_`` on images and their points, as fit does at its
        end (``correct_flip_offset``): for a model fitted before it existed, or on other
        images of the same kind.

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or (n, H, W, C), or a list of images
            Images of the fitted size (up to 1,000 of them are used, drawn by
            ``random_state``).
        y : array-like of shape (n, 2K) or (n, K, 2)
            Their keypoints in pixels; NaN = missing.

        Returns
        -------
        self
        """
        check_is_fitted(self, "module_")
        self._set_prediction_offset(self._training_data(X, y, reset=False))
        return self

    def _set_prediction_offset(self, dataset: KeypointDataset) -> None:
        """The median over up to ``OFFSET_SAMPLES`` images of ``dataset`` of each image's
        mean offset of the predictions from its targets, in pixels (none when no image
        has a point)."""
        rng = np.random.default_rng(self.random_state)
        n = len(dataset)
        rows = torch.from_numpy(np.sort(rng.choice(n, min(n, OFFSET_SAMPLES), replace=False)))
        sample = KeypointDataset(dataset.X[rows])
        predicted = np.concatenate(
            [to_numpy(out) for out in self._outputs_of(sample, decode=True)]
        )
        residual = to_points(predicted - dataset.y[rows].double().numpy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # images without points
            offset = np.nanmedian(np.nanmean(residual, axis=1), axis=0)
        h, w = self.image_size_
        offset = offset * np.array([w / 2.0, h / 2.0])  # [-1, 1] -> pixels
        self._store_prediction_offset(offset if np.isfinite(offset).all() else np.zeros(2))

    def _store_prediction_offset(self, offset: np.ndarray) -> None:
        """``prediction_offset_``, and in the network's ``fit_state`` (saved weights)."""
        self.prediction_offset_ = np.asarray(offset, dtype=np.float64)
        self.module_.fit_state.prediction_offset.copy_(torch.from_numpy(self.prediction_offset_))

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

    def _flip_permutation(self) -> np.ndarray | None:
        """The schema's flip permutation, or None when it does not say how points mirror."""
        return None if self.schema_.flip_pairs is None else self.schema_.flip_permutation

    def _warn_if_not_flipped(self) -> None:
        if self.augment_ is not None and self.augment_.flip and self._flip_permutation() is None:
            warnings.warn(
                f"schema {self.schema_.name!r} does not say how its points mirror, so the "
                "augmentation does not flip images; give the schema flip_pairs (or "
                "flip_pairs=() when every point is its own mirror image) to train on flips",
                UserWarning,
                stacklevel=4,
            )

    def _to_device_input(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device_, non_blocking=True)
        return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()

    def _forward(self, x: torch.Tensor, decode: bool | str = False) -> torch.Tensor:
        """Standardise a [0, 1]-scaled batch on the device and run the module; with
        ``decode``, return the coordinates (:meth:`decode_outputs`) instead of the raw
        outputs; with ``decode="confidence"``, the coordinates ``(B, 2K)`` followed by
        each point's confidence ``(B, K)`` (:meth:`point_confidence`).

        At inference BatchNorm is folded into the convolutions
        (:func:`~sklearn_fkd.nn.fusion.fused_for_inference`), and on the CPU the batch runs
        in chunks of ``CPU_INFERENCE_CHUNK`` images whose activations stay in cache
        (eval-mode layers treat samples independently, so the result is the same), each
        decoded as it leaves the network: the raw outputs (68 heatmaps per face for the
        heatmap model) never exist for a whole batch.
        """
        mean = torch.as_tensor(self.input_mean_, device=x.device).view(1, -1, 1, 1)
        std = torch.as_tensor(self.input_std_, device=x.device).view(1, -1, 1, 1)
        x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
        module = self.module_ if self.module_.training else fused_for_inference(self.module_)

        flip = decode and self.test_flip
        confidence = decode == "confidence"

        def run(part: torch.Tensor) -> torch.Tensor:
            out = module(torch.cat([part, part.flip(-1)]) if flip else part).float()
            if not decode:
                return out
            if confidence:
                coords, conf = self.decode_with_confidence(out)
            else:
                coords, conf = self.decode_outputs(out), None
            if flip:  # each image and its mirror image went through in one pass
                n = len(part)
                coords = (coords[:n] + self._unmirror(coords[n:])) / 2
                if conf is not None:
                    perm = torch.as_tensor(self.schema_.flip_permutation, device=conf.device)
                    conf = (conf[:n] + conf[n:][:, perm]) / 2
            return coords if conf is None else torch.cat([coords, conf], dim=1)

        chunk = CPU_INFERENCE_CHUNK // 2 if flip else CPU_INFERENCE_CHUNK
        dtype = self._autocast_dtype(x.device.type, training=module.training)
        with torch.autocast(x.device.type, dtype=dtype or torch.bfloat16, enabled=bool(dtype)):
            if x.is_cuda or module.training or len(x) <= chunk:
                return run(x)
            return torch.cat([run(part) for part in x.split(chunk)])

    def _autocast_dtype(self, device_type: str, training: bool):
        """bfloat16 where ``precision`` asks for it (see its documentation), else None."""
        if self.precision == "float32" or (device_type == "cpu" and not training):
            return None
        if self.precision == "bfloat16" or device_type == "cuda":
            return torch.bfloat16
        return torch.bfloat16 if cpu_has_native_bfloat16() else None

    def _unmirror(self, coords: torch.Tensor) -> torch.Tensor:
        """Coordinates ``(B, 2K)`` predicted on mirrored images -> the originals' (x
        negated, left/right points swapped back)."""
        perm = torch.as_tensor(self.schema_.flip_permutation, device=coords.device)
        points = coords.view(len(coords), -1, 2)[:, perm] * coords.new_tensor([-1.0, 1.0])
        return points.reshape(len(coords), -1)

    def infer(self, x, **fit_params):
        return self._forward(self._to_device_input(x))

    def train_step(self, batch, **fit_params):
        """One optimizer step on a batch moved to the device and freshly augmented there.

        The forward and backward pass is skorch's ``train_step_single``, so a mixin that
        replaces it (skorch's ``AccelerateMixin``) still trains on augmented batches.
        """
        return super().train_step(self._training_batch(batch), **fit_params)

    def _training_batch(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """``(images in [0, 1], normalised targets)`` on the device, augmented."""
        Xi, yi = batch
        x = self._to_device_input(Xi)
        yi = yi.to(self.device_, non_blocking=True)
        if self.augment_ is not None:
            x, points = self.augment_(x, yi.view(len(yi), -1, 2), self._flip_permutation())
            yi = points.reshape(len(yi), -1)
        return x, yi

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred, y_true.to(self.device_))

    # -- prediction ------------------------------------------------------------------

    def decode_outputs(self, outputs: torch.Tensor) -> torch.Tensor:
        """Override this to turn the network's outputs into coordinates.

        Parameters
        ----------
        outputs : Tensor
            What the module returns for a batch of ``B`` images.

        Returns
        -------
        Tensor of shape (B, 2K)
            ``[-1, 1]`` coordinates (``align_corners=False``). The default returns the
            outputs as they are (networks that regress coordinates).
        """
        return outputs

    def _outputs(self, X, *, decode: bool | str):
        """Yield the network's outputs on ``X``, batch by batch, in evaluation mode
        (decoded to coordinates when ``decode``; on the CPU)."""
        check_is_fitted(self, "module_")
        yield from self._outputs_of(KeypointDataset(self._check_images(X)), decode=decode)

    def _outputs_of(self, dataset: KeypointDataset, *, decode: bool | str):
        """:meth:`_outputs` of checked images (a dataset's ``(n, C, H, W)`` tensor)."""
        accelerator = self._accelerator()
        self._set_training(False)
        with torch.no_grad():
            for Xi, _ in self.get_iterator(dataset, training=False):
                out = self._forward(self._to_device_input(Xi), decode=decode)
                if accelerator is not None:
                    out = accelerator.gather_for_metrics(out)
                yield out.cpu()

    #: whether :meth:`point_confidence` says how sure each point is (heatmap models)
    HAS_POINT_CONFIDENCE = False

    def point_confidence(self, outputs: torch.Tensor) -> torch.Tensor:
        """Override this to say, from the network's outputs, how sure each point is.

        Parameters
        ----------
        outputs : Tensor
            What the module returns for a batch of ``B`` images.

        Returns
        -------
        Tensor of shape (B, K)
            In ``[0, 1]``, higher for surer points.
        """
        raise ValueError(
            f"{type(self).__name__} regresses coordinates and gives no per-point "
            "confidence; a HeatmapKeypointEstimator (the shipped ibug68) does"
        )

    def decode_with_confidence(self, outputs: torch.Tensor):
        """:meth:`decode_outputs` and :meth:`point_confidence` of the same outputs (a
        subclass may share the work of the two)."""
        return self.decode_outputs(outputs), self.point_confidence(outputs)

    def predict(self, X, return_confidence: bool = False):
        """Keypoints of each image, in pixels of ``X``.

        Streams through ``X`` in batches of ``batch_size`` (memory stays bounded).

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or (n, H, W, C)
            Images of the fitted size and channel count.
        return_confidence : bool, default=False
            Also return each point's confidence (models that have one; see
            :meth:`point_confidence`), as ``return_std`` does in scikit-learn's
            probabilistic regressors.

        Returns
        -------
        points : ndarray of shape (n, 2K), float64
        confidence : ndarray of shape (n, K), float64
            Only with ``return_confidence``: in ``[0, 1]``, higher for surer points.
        """
        if return_confidence and not self.HAS_POINT_CONFIDENCE:
            self.point_confidence(torch.zeros(0))  # raises, saying which models have one
        decode = "confidence" if return_confidence else True
        parts = np.concatenate([to_numpy(out) for out in self._outputs(X, decode=decode)])
        k2 = 2 * self.n_keypoints_
        points = self._denormalize(parts[:, :k2])
        if self.correct_flip_offset:
            points -= np.tile(self._prediction_offset(), self.n_keypoints_)
        if return_confidence:
            return points, parts[:, k2:].astype(np.float64)
        return points

    def _prediction_offset(self) -> np.ndarray:
        """``prediction_offset_`` (zeros for an estimator fitted before it existed)."""
        return np.asarray(getattr(self, "prediction_offset_", np.zeros(2)), dtype=np.float64)

    @available_if(lambda self: False)
    def predict_proba(self, X):
        """Not available: keypoint estimators are regressors (use ``predict``)."""

    def score(self, X, y, sample_weight=None) -> float:
        """Negative NME of the predictions (greater is better).

        Normalised by the schema's pair (outer eye corners for 68 and 58 points, eye
        centres for Kaggle's 15); for a schema without a pair (the nose) see
        :class:`~sklearn_fkd.metrics.KeypointScorer`.
        """
        if sample_weight is not None:
            raise ValueError("score does not support sample_weight")
        check_is_fitted(self, "module_")
        return KeypointScorer(nme, -1)(self, X, y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.input_tags.allow_nan = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
