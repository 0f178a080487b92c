"""What the three estimators share: validation, tensors, target normalisation, the
masked loss, a batched in-memory iterator, augmentation, devices and seeding.

Coordinates inside the network are normalised to ``[-1, 1]`` over the image extent
(``u = (2x + 1) / W - 1``), the ``align_corners=False`` convention of ``affine_grid``,
so augmentation moves pixels and targets with one matrix, exactly.
"""

from __future__ import annotations

import contextvars
import math
import warnings
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import LRScheduler
from skorch.utils import to_numpy

from ..augment import Augment
from ..keypoints import KeypointSchema, check_keypoints, infer_schema
from ..metrics import KeypointScorer, nme
from ..nn.fusion import fused_for_inference
from ..nn.losses import LOSS_KINDS, MaskedKeypointLoss

__all__ = ["BatchIterator", "KeypointDataset", "KeypointNet", "images_to_tensor", "resolve_device"]


CPU_INFERENCE_CHUNK = 16

#: set by ``predict``: the network's raw outputs (for the heatmap model, 68 maps per
#: face) are decoded to coordinates chunk by chunk, so they never exist for a whole batch
_DECODING: contextvars.ContextVar[bool] = contextvars.ContextVar("decoding", default=False)


def resolve_device(device) -> str:
    """``"auto"`` -> ``"cuda"`` when a GPU is visible, else ``"cpu"``; others unchanged."""
    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def images_to_tensor(X, name: str = "X") -> torch.Tensor:
    """Validate images and return them as one ``(n, C, H, W)`` tensor (no float copy).

    uint8 images stay uint8 (scaled to [0, 1] batch by batch on the device); other
    integer images must lie in 0..255 and become uint8; float images are taken as they
    are (already scaled or standardised) in float32.

    Parameters
    ----------
    X : ndarray of shape (n, H, W) or (n, H, W, C), or a list of such images

    Returns
    -------
    Tensor of shape (n, C, H, W), uint8 or float32 (a view of ``X`` when possible; it
    is never written to)
    """
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if isinstance(X, (list, tuple)):
        if len(X) == 0:
            raise ValueError(f"{name} is empty")
        arrays = [np.asarray(im) for im in X]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(
                f"{name} holds images of different sizes ({len(shapes)} shapes, e.g. "
                f"{sorted(shapes)[:2]}); put a Resize step (sklearn_fkd.preprocessing) "
                "before the estimator"
            )
        X = np.stack(arrays)
    arr = np.asarray(X)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numeric pixels, got dtype {arr.dtype}")
    if arr.dtype == bool or np.iscomplexobj(arr):
        raise TypeError(f"{name} must hold real-valued pixels, got dtype {arr.dtype}")
    if arr.ndim not in (3, 4):
        raise ValueError(f"{name} must have shape (n, H, W) or (n, H, W, C), got {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if arr.ndim == 4 and arr.shape[3] not in (1, 2, 3, 4):
        hint = " (channels first? use (n, H, W, C))" if arr.shape[1] in (1, 3) else ""
        raise ValueError(f"{name} has {arr.shape[3]} channels in its last axis{hint}")
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.dtype == np.uint8:
        out = torch.from_numpy(np.ascontiguousarray(arr))
    elif np.issubdtype(arr.dtype, np.integer):
        lo, hi = arr.min(), arr.max()
        if lo < 0 or hi > 255:
            raise ValueError(
                f"integer {name} must lie in 0..255, found {lo}..{hi}; pass floats for "
                "other ranges"
            )
        out = torch.from_numpy(arr.astype(np.uint8))
    else:
        out = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
        if not torch.isfinite(out).all():
            raise ValueError(f"{name} contains NaN or infinite pixels")
    return out.permute(0, 3, 1, 2)


def channel_stats(Xt: torch.Tensor, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and (unbiased) standard deviation of ``[0, 1]``-scaled images.

    Accumulated in float64 over chunks of ``chunk`` images, so the memory it needs does
    not grow with the data set (a float64 copy of 5,000 96x96 faces would be 370 MB).

    Parameters
    ----------
    Xt : Tensor of shape (n, C, H, W)
        uint8 (scaled by 1/255) or float images.
    chunk : int, default=256

    Returns
    -------
    mean, std : ndarray of shape (C,), float64
    """
    scale = 255.0 if Xt.dtype == torch.uint8 else 1.0
    c = Xt.shape[1]
    total = torch.zeros(c, dtype=torch.float64)
    squares = torch.zeros(c, dtype=torch.float64)
    for part in Xt.split(chunk):
        values = part.transpose(0, 1).reshape(c, -1).double() / scale
        total += values.sum(dim=1)
        squares += values.square().sum(dim=1)
    count = Xt.shape[0] * Xt.shape[2] * Xt.shape[3]
    mean = total / count
    var = (squares - count * mean.square()).clamp_min(0) / max(count - 1, 1)
    return mean.numpy(), var.sqrt().numpy()


class KeypointDataset(torch.utils.data.Dataset):
    """In-memory images ``(n, C, H, W)`` and normalised targets ``(n, 2K)`` or None."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None):
        self.X = X
        self.y = y

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], (self.y[i] if self.y is not None else torch.empty(0))


def _tensors_of(dataset) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The tensors behind a KeypointDataset or a ``Subset`` of one (skorch's splits)."""
    if isinstance(dataset, torch.utils.data.Subset):
        X, y = _tensors_of(dataset.dataset)
        idx = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long)
        return X[idx], (y[idx] if y is not None else None)
    if isinstance(dataset, KeypointDataset):
        return dataset.X, dataset.y
    raise TypeError(f"expected a KeypointDataset, got {type(dataset).__name__}")


class BatchIterator:
    """Yield ``(X_batch, y_batch)`` slices of in-memory tensors.

    Replaces ``torch.utils.data.DataLoader``: no per-item ``__getitem__`` and collation,
    one index operation per batch. Shuffles with the global torch generator (seeded by
    the estimator's ``random_state``). A trailing batch of one sample is dropped while
    training (BatchNorm needs two); it is a different sample every epoch.

    ``shard=(i, k)`` yields only process ``i``'s share of ``k`` equal, disjoint shares
    of the (identically shuffled) samples, for data-parallel training in ``k``
    processes.
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 32,
        shuffle: bool = False,
        drop_singleton: bool = False,
        shard: tuple[int, int] | None = None,
    ):
        self.X, self.y = _tensors_of(dataset)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_singleton = drop_singleton
        self.shard = shard

    def _n_samples(self) -> int:
        """Samples this iterator yields: all, or an equal share of them per shard (the
        remainder is left out, a different one each shuffled epoch)."""
        n = len(self.X)
        return n if self.shard is None else n // self.shard[1]

    def __len__(self) -> int:
        n = self._n_samples()
        n_batches = math.ceil(n / self.batch_size)
        if self.drop_singleton and n % self.batch_size == 1 and n_batches > 1:
            n_batches -= 1
        return n_batches

    def __iter__(self):
        order = torch.randperm(len(self.X)) if self.shuffle else None
        n = self._n_samples()
        if self.shard is not None:  # process i of k: every k-th sample from i
            index, count = self.shard
            everything = order if order is not None else torch.arange(len(self.X))
            order = everything[index::count][:n]
        for b in range(len(self)):
            sl = slice(b * self.batch_size, min(n, (b + 1) * self.batch_size))
            idx = order[sl] if order is not None else sl
            yield self.X[idx], (self.y[idx] if self.y is not None else None)


class KeypointNet(NeuralNet):
    """Base of the keypoint estimators: a skorch ``NeuralNet`` that speaks images and
    pixel keypoints. Subclasses define ``_build_module`` and may override the loss,
    ``_decode`` and ``_prepare_targets``.

    Parameters shared by all estimators are documented on the subclasses.
    """

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
        train_split=None,
        callbacks=None,
        warm_start: bool = False,
        verbose: int = 0,
        **kwargs,
    ):
        super().__init__(
            module=torch.nn.Identity,  # replaced by _build_module at initialize()
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

    # -- construction ----------------------------------------------------------------

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
        for state in self.optimizer_.state.values():
            for key, value in state.items():
                if torch.is_tensor(value) and key != "step":
                    state[key] = value.to(device)

    def _build_module(self, n_keypoints: int, in_channels: int, **kwargs) -> torch.nn.Module:
        """The network for ``n_keypoints`` points; ``kwargs`` are ``module__*`` params."""
        raise NotImplementedError

    def initialize_module(self):
        """Build the network for the fitted point count and channels."""
        # set here too: AccelerateMixin.initialize replaces ours
        self.device_ = self._resolved_device()
        kwargs = self.get_params_for("module")
        module = self._build_module(self.n_keypoints_, self.n_channels_, **kwargs)
        # channels-last: faster convolutions on CUDA and with oneDNN on the CPU (measured
        # +9 to +40 % for the three networks on two cores)
        self.module_ = module.to(self.device_).to(memory_format=torch.channels_last)
        return self

    def initialize_criterion(self):
        """The masked coordinate loss chosen by ``loss``."""
        if self.loss not in LOSS_KINDS:
            raise ValueError(f"loss must be one of {LOSS_KINDS}, got {self.loss!r}")
        self.criterion_ = MaskedKeypointLoss(self.loss).to(self.device_)
        return self

    @property
    def _default_callbacks(self):
        """skorch's defaults plus the cosine schedule (validated in fit, not here)."""
        callbacks = list(super()._default_callbacks)
        if self.lr_schedule == "cosine":
            schedule = LRScheduler(
                torch.optim.lr_scheduler.CosineAnnealingLR,
                T_max=max(1, self.max_epochs),
                eta_min=self.lr * 0.01,
            )
            callbacks.append(("lr_schedule", schedule))
        return callbacks

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
        self.device_ = self._resolved_device()
        with self._skorch_device():
            return super().initialize()

    def __setstate__(self, state):
        requested = state["device"]
        state["device"] = resolve_device(requested)
        super().__setstate__(state)
        self.device_ = self.device  # skorch falls back to the CPU when CUDA is gone
        self.device = requested

    def load_params(self, *args, **kwargs):
        with self._skorch_device():
            super().load_params(*args, **kwargs)
        return self

    # -- data ------------------------------------------------------------------------

    def _schema_of_y(self, n_points: int) -> KeypointSchema:
        """The ``schema`` parameter, or the one inferred from ``y``'s point count."""
        schema = self.schema if self.schema is not None else infer_schema(n_points)
        if not isinstance(schema, KeypointSchema):
            raise TypeError(
                f"schema must be a KeypointSchema or None, got {type(schema).__name__}"
            )
        return schema

    def _target_schema(self, y_flat: np.ndarray) -> KeypointSchema:
        """The schema of the points the model predicts."""
        k = y_flat.shape[1] // 2
        schema = self._schema_of_y(k)
        if schema.n_points != k:
            raise ValueError(f"schema {schema.name!r} has {schema.n_points} points, y has {k}")
        return schema

    def _prepare_targets(self, y) -> np.ndarray:
        """Validated flat keypoints of the points this model predicts (a copy)."""
        return check_keypoints(y)

    def _normalize(self, y: np.ndarray) -> np.ndarray:
        h, w = self.image_size_
        out = y.copy()
        out[:, 0::2] = (2 * out[:, 0::2] + 1) / w - 1
        out[:, 1::2] = (2 * out[:, 1::2] + 1) / h - 1
        return out

    def _denormalize(self, u: np.ndarray) -> np.ndarray:
        h, w = self.image_size_
        out = np.array(u, dtype=np.float64)  # one copy
        out[:, 0::2] = ((out[:, 0::2] + 1) * w - 1) / 2
        out[:, 1::2] = ((out[:, 1::2] + 1) * h - 1) / 2
        return out

    def _check_images(self, X) -> torch.Tensor:
        """Validated images of the fitted size and channel count, as a tensor."""
        return self._check_image_shape(images_to_tensor(X))

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
        y_flat = self._prepare_targets(y)
        if len(y_flat) != len(Xt):
            raise ValueError(f"X has {len(Xt)} images but y has {len(y_flat)} rows")
        if reset:
            self.schema_ = self._target_schema(y_flat)
            self.n_keypoints_ = self.schema_.n_points
            self.n_channels_ = int(Xt.shape[1])
            self.image_size_ = (int(Xt.shape[2]), int(Xt.shape[3]))
            mean, std = channel_stats(Xt)
            self.input_mean_ = mean.astype(np.float32)
            self.input_std_ = np.maximum(std, 1e-6).astype(np.float32)
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
        if empty.any():
            warnings.warn(
                f"{int(empty.sum())} of {len(empty)} training rows have no keypoint (all "
                "NaN) and are left out of the loss",
                UserWarning,
                stacklevel=3,
            )
            Xt, y_flat = Xt[torch.from_numpy(~empty)], y_flat[~empty]
        return KeypointDataset(Xt, torch.from_numpy(self._normalize(y_flat).astype(np.float32)))

    def get_iterator(self, dataset, training=False):
        if training:
            kwargs = {
                "shuffle": True,
                "drop_singleton": True,
                **self.get_params_for("iterator_train"),
            }
            iterator = self.iterator_train
        else:
            kwargs = self.get_params_for("iterator_valid")
            iterator = self.iterator_valid
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
            Passed to skorch's ``fit``.

        Returns
        -------
        self
        """
        self._validate_fit_params()
        if isinstance(X, KeypointDataset):
            return super().fit(X, None, **fit_params)
        reset = not (self.warm_start and getattr(self, "initialized_", False))
        return self._train(X, y, reset=reset, seed=True, **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initialising.

        Keeps the module, the optimizer state and the history; the first call
        initialises like :meth:`fit`.
        """
        self._validate_fit_params()
        if isinstance(X, KeypointDataset):
            return super().partial_fit(X, None, **fit_params)
        first = not getattr(self, "initialized_", False)
        return self._train(X, y, reset=first, seed=first, **fit_params)

    def _train(self, X, y, *, reset: bool, seed: bool, **fit_params):
        """Validate, (re-)initialise when ``reset``, and run skorch's training loop;
        under ``random_state`` when ``seed``."""
        with self._seeded() if seed else nullcontext():
            dataset = self._training_data(X, y, reset=reset)
            if reset:
                self.initialize()
            return super().partial_fit(dataset, None, **fit_params)

    def _validate_fit_params(self):
        """Check the estimator's own parameters (at fit, as scikit-learn asks) and
        resolve ``augment`` into ``augment_``."""
        if self.lr_schedule not in ("cosine", None):
            raise ValueError(f"lr_schedule must be 'cosine' or None, got {self.lr_schedule!r}")
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

    def _flip_permutation(self):
        """The schema's flip permutation, or None when left/right are unknown."""
        generic = self.schema_.name.startswith("generic") and self.schema_.n_points > 1
        return None if generic else self.schema_.flip_permutation

    def _to_device_input(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device_, non_blocking=True)
        return x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """Standardise a [0, 1]-scaled batch on the device and run the module.

        At inference BatchNorm is folded into the convolutions
        (:func:`~sklearn_fkd.nn.fusion.fused_for_inference`), and on the CPU the batch runs
        in chunks of ``CPU_INFERENCE_CHUNK`` images whose activations stay in cache
        (eval-mode layers treat samples independently, so the result is the same): about
        2x the throughput of one 256-image pass on two cores.
        """
        mean = torch.as_tensor(self.input_mean_, device=x.device).view(1, -1, 1, 1)
        std = torch.as_tensor(self.input_std_, device=x.device).view(1, -1, 1, 1)
        x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
        module = self.module_ if self.module_.training else fused_for_inference(self.module_)
        decode = self._decode if _DECODING.get() else (lambda out: out)
        if x.is_cuda:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return decode(module(x).float())
        if module.training or len(x) <= CPU_INFERENCE_CHUNK:
            return decode(module(x))
        return torch.cat([decode(module(part)) for part in x.split(CPU_INFERENCE_CHUNK)])

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

    def _decode(self, outputs: torch.Tensor) -> torch.Tensor:
        """Network outputs of a batch -> normalised coordinates ``(B, 2K)``."""
        return outputs

    def predict(self, X) -> np.ndarray:
        """Keypoints of each image, in pixels of ``X``.

        Streams through ``X`` in batches of ``batch_size`` (memory stays bounded).

        Parameters
        ----------
        X : ndarray of shape (n, H, W) or (n, H, W, C)
            Images of the fitted size and channel count.

        Returns
        -------
        ndarray of shape (n, 2K), float64
        """
        check_is_fitted(self, "module_")
        dataset = KeypointDataset(self._check_images(X))
        token = _DECODING.set(True)  # decode each chunk as it leaves the network
        try:
            parts = [
                to_numpy(out)
                for out in self.forward_iter(dataset, training=False, device=self.device_)
            ]
        finally:
            _DECODING.reset(token)
        return self._denormalize(np.concatenate(parts, axis=0))

    @available_if(lambda self: False)
    def predict_proba(self, X):
        """Not available: keypoint estimators are regressors (use ``predict``)."""

    def score(self, X, y, sample_weight=None) -> float:
        """Negative NME of the predictions (greater is better).

        Normalised by the schema's pair (outer eye corners for 68 and 58 points, eye
        centres for Kaggle's 15); a schema without a pair (the nose, generic schemas)
        is normalised by the image diagonal ``sqrt(H^2 + W^2)``.
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
