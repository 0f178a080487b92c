"""The base of the three estimators, :class:`KeypointNet`: a skorch ``NeuralNet`` that
speaks images and pixel keypoints. The class is the hook protocol; its concerns live
beside it: :mod:`.device` (device and precision), :mod:`.training_data` (the data and
its batches), :mod:`.readout` (targets to network units and outputs to pixels),
:mod:`.flip_offset` (a callback), :mod:`~sklearn_fkd.nn.fit_state` (what fit learned,
kept in the weights) and :mod:`sklearn_fkd.weights` (what ``weights=`` starts from).

Subclasses implement the hook :meth:`KeypointNet.network_spec` (which network, by
name) or :meth:`KeypointNet.build_module` (any network), declare their parameters'
rules in ``_parameter_constraints``, and may override
:meth:`KeypointNet.prepare_targets` (which points of ``y`` the model predicts),
:meth:`KeypointNet.decode_outputs` (network outputs to coordinates),
:meth:`KeypointNet.point_confidence` and ``initialize_criterion`` (the loss).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet

from ..augment import Augment
from ..keypoints import KeypointSchema, check_keypoints
from ..metrics import KeypointScorer, nme
from ..nn.fit_state import FitState
from ..nn.losses import MaskedKeypointLoss
from ..nn.registry import build_network, network_for
from ..utils.validation import check_consistent_length
from ..weights import check_weights, read_network
from .dataset import BatchIterator, KeypointDataset
from .default_callbacks import DefaultCallbacks
from .device import DevicePlacement
from .flip_offset import PredictionOffset
from .inference import Inference
from .parameters import Parameters
from .readout import KeypointReadout
from .saved_weights import SavedWeights
from .training_data import TrainingData

__all__ = ["KeypointNet"]


class KeypointNet(
    Parameters,
    DevicePlacement,
    TrainingData,
    DefaultCallbacks,
    SavedWeights,
    PredictionOffset,
    Inference,
    NeuralNet,
):
    """Base of the keypoint estimators: a skorch ``NeuralNet`` that speaks images and
    pixel keypoints.

    Subclasses implement :meth:`network_spec` (a network of the registry) or
    :meth:`build_module` (any network), and may override :meth:`prepare_targets`,
    :meth:`decode_outputs`, :meth:`point_confidence` and ``initialize_criterion``.
    Parameters shared by all estimators are documented on the subclasses.
    """

    #: width of the mean-shape prior (``mean_shape_start``) of networks that output
    #: logit maps, in standard deviations of the training positions
    mean_shape_prior_width: float = 1.0

    #: what the network outputs: "coordinates" (B, 2K) or logit "maps" decoded later
    OUTPUT = "coordinates"

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
        backend: str = "auto",
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
        self.backend = backend
        self.test_flip = test_flip
        self.correct_flip_offset = correct_flip_offset
        self.progress = progress

    # -- parameters ------------------------------------------------------------------

    # -- construction ----------------------------------------------------------------

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

    def _takes_state_dict(self) -> bool:
        """Whether ``weights`` may also be a torch state dict (``FaceKeypointRegressor``'s
        ResNet-18 takes a torchvision one)."""
        return False

    def _weights_name_a_model(self) -> bool:
        """Whether ``weights`` names a model to start from."""
        return self.weights is not None and check_weights(self.weights, True) == "model"

    def initialize_module(self):
        """Build the network for the fitted point count and channels: the one recorded
        with weights being loaded, the one of the model ``weights`` names (its weights
        copied in), a custom :meth:`build_module`'s, or :meth:`network_spec`'s."""
        self.device_ = self._resolved_device()  # here too: AccelerateMixin replaces initialize
        kwargs = self.get_params_for("module")
        loading = getattr(self, "_loading_weights", False)
        source = None
        if loading and getattr(self, "network_spec_", None) is not None:
            spec = self.network_spec_  # recorded with the weights being loaded
        elif self._weights_name_a_model():  # the network of the model it starts from
            source = read_network(self.weights)
            spec = source.spec
        elif type(self).build_module is not KeypointNet.build_module:  # a custom network
            spec = None
        else:
            name, params = self.network_spec()
            spec = (name, {**params, **kwargs})
        if spec is None:
            module = self.build_module(self.n_keypoints_, self.n_channels_, **kwargs)
        else:
            module = network_for(spec, self.n_keypoints_, self.n_channels_, self.OUTPUT)
            if spec[1].get("weights") is not None:  # a state dict read into the network
                spec = (spec[0], {**spec[1], "weights": None})
        self.network_spec_ = spec
        if loading:
            source = None  # the weights come from the file
        start = getattr(module, "start_from_mean_shape", None)
        if self.mean_shape_start and start is not None:
            start(*self._normalized_mean_shape())
        if source is not None:
            self.weights_transfer_ = source.transfer_into(module, self.schema_)
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

    def initialize_criterion(self):
        """The masked coordinate loss chosen by ``loss``."""
        self.criterion_ = MaskedKeypointLoss(self.loss).to(self.device_)
        return self

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

    # -- weights ---------------------------------------------------------------------

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
            super().partial_fit(dataset, None, **fit_params)  # FlipOffset ends it
        if len(self.history) and "train_loss" not in self.history[-1]:
            self.history.pop()  # an epoch interrupted (Ctrl-C) before it finished
        return self

    def infer(self, x, **fit_params):
        return self._forward(self._to_device_input(x))

    def train_step(self, batch, **fit_params):
        """One optimizer step on a batch moved to the device and freshly augmented there.

        The forward and backward pass is skorch's ``train_step_single``, so a mixin that
        replaces it (skorch's ``AccelerateMixin``) still trains on augmented batches.
        """
        Xi, yi = batch
        x = self._to_device_input(Xi)
        yi = yi.to(self.device_, non_blocking=True)
        if self.augment_ is not None:
            x, points = self.augment_(x, yi.view(len(yi), -1, 2), self._flip_permutation())
            yi = points.reshape(len(yi), -1)
        return super().train_step((x, yi), **fit_params)

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

    def readout(self, training: bool = False) -> KeypointReadout:
        """How this estimator's network outputs become points in pixels, and pixel
        targets network units: a :class:`~sklearn_fkd.estimators.readout.KeypointReadout`
        with its decoding, its test-time flip (``test_flip``) and its prediction offset
        (``correct_flip_offset``); for ``training``, with neither."""
        offset, flip = (0.0, 0.0), None
        if not training:
            offset = self.prediction_offset_ if self.correct_flip_offset else offset
            flip = self.schema_.flip_permutation if self.test_flip else None
        return KeypointReadout(
            self.decode_outputs,
            self.image_size_,
            flip,
            offset,
            self.decode_with_confidence,
            # what else changes the decoding (and so an exported graph)
            decoding=(
                type(self).__name__,
                getattr(self, "decode", None),
                getattr(self, "CONFIDENCE_RADIUS", None),
            ),
        )

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
        check_is_fitted(self, "module_")
        dataset = KeypointDataset(self._check_images(X))
        readout = self.readout()
        outputs = self.network_outputs(dataset, confidence=return_confidence, readout=readout)
        parts = torch.cat(list(outputs))
        k2 = 2 * self.n_keypoints_
        pixels = readout.cpu().to_pixels(parts[:, :k2].double())
        points = pixels.reshape(len(parts), -1).numpy()
        if return_confidence:
            return points, parts[:, k2:].double().numpy()
        return points

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
