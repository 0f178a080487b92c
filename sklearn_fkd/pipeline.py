"""A Pipeline that moves keypoints with the images: :class:`KeypointPipeline`.

A plain :class:`sklearn.pipeline.Pipeline` never passes a transformed ``y`` on, so a
crop or a resize before a keypoint estimator would leave the targets in the wrong
frame. ``KeypointPipeline`` threads ``y`` forward through every step that moves pixels
(the ``point_map``/``warp`` protocol of :mod:`sklearn_fkd.preprocessing`) at fit, and
maps the final estimator's predictions back through them, in reverse, at predict and
score: the caller only ever sees their own images' pixel coordinates. Steps without the
protocol (``Grayscale``, ``Standardize``, any scikit-learn transformer) are treated as
intensity-only.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
from sklearn.pipeline import Pipeline, _name_estimators
from sklearn.utils._user_interface import _print_elapsed_time
from sklearn.utils.metadata_routing import get_routing_for_object, process_routing
from sklearn.utils.validation import check_is_fitted

from .geometry import PointMap, keypoint_boxes, scale_boxes
from .keypoints import check_keypoints
from .metrics import KeypointScorer, nme
from .utils.validation import ImageList, check_consistent_length, check_images, check_number

__all__ = ["KeypointPipeline", "check_test_scales", "is_keypoint_step", "make_keypoint_pipeline"]


def check_test_scales(scales) -> tuple[float, ...]:
    """``KeypointPipeline.test_scales`` checked: a non-empty sequence of positive numbers."""
    if not isinstance(scales, (list, tuple, np.ndarray)) or not len(scales):
        raise TypeError(f"test_scales must be a non-empty sequence of numbers, got {scales!r}")
    for value in scales:
        check_number(value, "each of test_scales", low=0, low_inclusive=False)
    return tuple(float(value) for value in scales)


def is_keypoint_step(step) -> bool:
    """Whether ``step`` moves pixels and says how (``point_map`` and ``warp``)."""
    return callable(getattr(step, "point_map", None)) and callable(getattr(step, "warp", None))


def crops_faces(step) -> bool:
    """Whether ``step`` crops faces at given boxes (``face_boxes``, as a ``FaceCrop``):
    the first step of a pipeline that refines and averages crop scales."""
    return is_keypoint_step(step) and callable(getattr(step, "face_boxes", None))


def _skipped(step) -> bool:
    return step is None or (isinstance(step, str) and step == "passthrough")


class KeypointPipeline(Pipeline):
    """A :class:`~sklearn.pipeline.Pipeline` whose keypoints follow the images.

    At fit, ``y`` goes through the same crops and resizes as the images; at predict the
    final estimator's keypoints come back through them in reverse, in the pixels of the
    images passed in. Everything else is a scikit-learn Pipeline: ``clone``,
    ``get_params``/``set_params("step__param")``, ``GridSearchCV``,
    ``cross_val_score``, pickling.

    Keyword arguments to ``predict`` and ``score`` (such as ``boxes=`` for a
    :class:`~sklearn_fkd.preprocessing.FaceCrop`) are routed with scikit-learn's
    metadata routing to the steps that request them, whether or not
    ``sklearn.set_config(enable_metadata_routing=True)`` is set; ``FaceCrop`` requests
    ``boxes`` by default.

    Parameters
    ----------
    steps : list of (str, estimator)
        Transformers, then a keypoint estimator (``predict`` returning ``(n, 2K)``).
    memory : None
        Caching of fitted transformers is not supported (the steps are cheap next to
        training); must be None.
    verbose : bool, default=False
    refine : int, default=1
        When the first step is a :class:`~sklearn_fkd.preprocessing.FaceCrop`:
        prediction rounds after the first, each on the crop around the points predicted
        before (see :meth:`predict`). Other pipelines predict once.
    test_scales : sequence of float, default=(1.0,)
        When the first step is a ``FaceCrop``: the last round crops each face at these
        scales of its box and averages the points (test-time augmentation, as a flip
        averages over the mirror image; ``(0.85, 1.0, 1.15)`` costs three passes).

    Examples
    --------
    >>> from sklearn_fkd import FaceKeypointRegressor
    >>> from sklearn_fkd.pipeline import make_keypoint_pipeline
    >>> from sklearn_fkd.preprocessing import FaceCrop, Grayscale, Resize
    >>> pipe = make_keypoint_pipeline(
    ...     FaceCrop(), Grayscale(), Resize((96, 96)), FaceKeypointRegressor()
    ... )
    >>> [name for name, _ in pipe.steps]
    ['facecrop', 'grayscale', 'resize', 'facekeypointregressor']
    """

    def __init__(
        self, steps, *, memory=None, verbose: bool = False, refine: int = 1, test_scales=(1.0,)
    ):
        super().__init__(steps, memory=memory, verbose=verbose)
        self.refine = refine
        self.test_scales = test_scales

    def _test_settings(self) -> tuple[int, tuple[float, ...]]:
        """``refine`` and ``test_scales`` checked."""
        check_number(self.refine, "refine", integer=True, low=0)
        return int(self.refine), check_test_scales(self.test_scales)

    def _check_memory(self):
        if self.memory is not None:
            raise ValueError("KeypointPipeline does not cache steps: memory must be None")

    def _through_steps(self, X, routed, *, fit: bool, y=None):
        """Run ``X`` (and at fit ``y``) through the transformers.

        Returns the final images, the keypoints in their frame (when ``y`` is given)
        and the point map of each geometric step, in order.
        """
        maps: list[PointMap] = []
        for _, name, step in self._iter(with_final=False, filter_passthrough=True):
            params = routed[name]
            with self._log_message_for(name, fit):
                if is_keypoint_step(step):
                    if fit:
                        step.fit(X, y, **params.get("fit", {}))
                    point_map = step.point_map(X, y=y, **params.get("transform", {}))
                    X = step.warp(X, point_map)
                    if y is not None:
                        y = point_map.forward(y)
                    maps.append(point_map)
                else:
                    if isinstance(X, ImageList):  # a transformer of any library
                        X = X.as_given()
                    if fit:
                        X = step.fit_transform(X, y, **params.get("fit_transform", {}))
                    else:
                        X = step.transform(X, **params.get("transform", {}))
        return X, y, maps

    def _route(self, method: str, params: dict):
        """``process_routing(self, method, **params)``, with the router built once per
        state of the steps' metadata requests when every step is one of this library's
        (building and copying it was a large share of a one-face prediction)."""
        if not params:
            return process_routing(self, method)
        steps = [(name, step) for name, step in self.steps if not _skipped(step)]
        if not all(type(step).__module__.startswith("sklearn_fkd.") for _, step in steps):
            return process_routing(self, method, **params)
        # the steps' names, the steps and their own requests (set_*_request replaces the
        # object; neither defines ==, so the tuples compare them by identity), held so
        # that a compared object is never a new one at a reused address
        key = tuple((name, step, vars(step).get("_metadata_request")) for name, step in steps)
        cached = self.__dict__.get("_cached_router")
        if cached is None or cached[0] != key:
            cached = (key, get_routing_for_object(self))
            self.__dict__["_cached_router"] = cached
        router = cached[1]
        router.validate_metadata(params=params, method=method)
        return router.route_params(params=params, caller=method)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_cached_router", None)
        return state

    def _log_message_for(self, name: str, fit: bool):
        if not (fit and self.verbose):
            return nullcontext()
        index = [n for n, _ in self.steps].index(name)
        return _print_elapsed_time("KeypointPipeline", self._log_message(index))

    def fit(self, X, y=None, **params):
        """Fit the steps, moving ``y`` with the images, then the final estimator.

        Parameters
        ----------
        X : ndarray of shape (n, H, W[, C]) or list of images
            Lists may hold images of different sizes until a step makes them uniform.
        y : array-like of shape (n, 2K) or (n, K, 2)
            Keypoints in ``X``'s pixels; NaN = missing.
        **params
            ``step__param`` fit parameters (or routed metadata when routing is on).

        Returns
        -------
        self
        """
        self._validate_steps()
        self._check_memory()
        self._test_settings()
        routed = self._check_method_params(method="fit", props=params)
        images = check_images(X)  # once: the steps do not validate an ImageList again
        y_flat = None if y is None else check_keypoints(y)
        check_consistent_length(X=images, y=y_flat)
        Xt, yt, _ = self._through_steps(images, routed, fit=True, y=y_flat)
        final_name, final = self.steps[-1]
        with self._log_message_for(final_name, True):
            if not _skipped(final):
                final.fit(Xt, yt, **routed[final_name].get("fit", {}))
        return self

    def predict(self, X, return_confidence: bool = False, **params):
        """Keypoints of each image, in the pixels of ``X``.

        When the first step is a :class:`~sklearn_fkd.preprocessing.FaceCrop` and
        ``refine > 0``, each face is predicted again on the crop around the points
        predicted before (``refine`` times), whether its first box came from the
        detector or from ``boxes=``: the network then sees the kind of crop it was
        trained on. With more than one of ``test_scales``, the last round crops each
        face at each scale of its box and averages the points.

        Parameters
        ----------
        X : ndarray of shape (n, H, W[, C]), list of images, or image paths
        return_confidence : bool, default=False
            Also return each point's confidence from the final estimator (heatmap models;
            see :meth:`~sklearn_fkd.HeatmapKeypointEstimator.point_confidence`), of the
            last round, averaged over the crop scales.
        **params
            Metadata for the steps, e.g. ``boxes=`` (n, 4) for a ``FaceCrop``.

        Returns
        -------
        points : ndarray of shape (n, 2K), float64
        confidence : ndarray of shape (n, K), float64
            Only with ``return_confidence``.
        """
        check_is_fitted(self)
        images = check_images(X)
        routing = self._route("predict", params)
        # one object per step, so that the refinement's boxes stick (without metadata,
        # scikit-learn's EmptyRequest hands out a fresh, empty Bunch at every lookup)
        routed = {name: routing[name] for name, _ in self.steps}
        name, crop = self.steps[0]
        refine, scales = self._test_settings() if crops_faces(crop) else (0, (1.0,))
        if getattr(self._final_estimator, "n_keypoints_", 2) < 2:
            refine = 0  # one point: no box to refine from
        boxes = routed[name].get("transform", {}).get("boxes")
        if refine == 0:
            return self._predict_in_boxes(images, routed, boxes, scales, return_confidence)
        y = self._predict_in_boxes(images, routed, boxes, (1.0,))
        if y.shape[1] < 4:  # one point from an estimator that did not say so
            return self._predict_in_boxes(images, routed, boxes, scales, return_confidence)
        for round_ in range(refine):
            last = round_ == refine - 1
            y = self._predict_in_boxes(
                images,
                routed,
                keypoint_boxes(y),
                scales if last else (1.0,),
                return_confidence and last,
            )
        return y

    def _predict_in_boxes(self, images, routed, boxes, scales, confidence: bool = False):
        """Points predicted on the crops of the first step at ``boxes`` (None: its own
        choice, the detector), averaged over the boxes scaled by each of ``scales``
        (and the points' confidence, with ``confidence``)."""
        name, crop = self.steps[0]
        if scales == (1.0,):
            if boxes is not None:
                routed[name]["transform"] = {**routed[name].get("transform", {}), "boxes": boxes}
            return self._predict_once(images, routed, confidence)
        boxes = crop.face_boxes(images, boxes=boxes)  # checked, the detector's filled in
        # every scale of every face in one pass of the steps and the network
        repeated = ImageList([image for _ in scales for image in images])
        routed[name]["transform"] = {
            **routed[name].get("transform", {}),
            "boxes": np.concatenate([scale_boxes(boxes, scale) for scale in scales]),
        }
        out = self._predict_once(repeated, routed, confidence)

        def mean(values: np.ndarray) -> np.ndarray:
            return values.reshape(len(scales), len(images), -1).mean(axis=0)

        return (mean(out[0]), mean(out[1])) if confidence else mean(out)

    def _predict_once(self, images, routed, confidence: bool = False):
        """The steps and the final estimator once; points in the pixels of ``images``
        (and their confidence, with ``confidence``)."""
        Xt, _, maps = self._through_steps(images, routed, fit=False)
        final_name, final = self.steps[-1]
        kwargs = {"return_confidence": True} if confidence else {}
        out = final.predict(Xt, **kwargs, **routed[final_name].predict)
        y = out[0] if confidence else out
        for point_map in reversed(maps):
            y = point_map.inverse(y)
        return (y, out[1]) if confidence else y

    def score(self, X, y, sample_weight=None, **params) -> float:
        """Negative NME of the predictions, in the pixels of ``X`` (greater is better).

        Normalised by the schema's pair (outer eye corners, eye centres); a schema
        without one (the nose) by each image's diagonal, as the estimators' ``score``.

        Parameters
        ----------
        X : images
        y : array-like of shape (n, 2K) or (n, K, 2)
        sample_weight : None
            Not supported.
        **params
            Metadata for the steps, e.g. ``boxes=``.
        """
        if sample_weight is not None:
            raise ValueError("KeypointPipeline.score does not support sample_weight")
        return KeypointScorer(nme, -1)(self, X, y, **params)

    @property
    def schema_(self):
        """The final estimator's fitted :class:`~sklearn_fkd.KeypointSchema`."""
        return self._final_estimator.schema_


def make_keypoint_pipeline(
    *steps, memory=None, verbose: bool = False, refine: int = 1, test_scales=(1.0,)
) -> KeypointPipeline:
    """Build a :class:`KeypointPipeline`, naming the steps after their lower-cased classes
    (the keyword arguments are its parameters).

    Examples
    --------
    >>> from sklearn_fkd import NoseRegressor
    >>> from sklearn_fkd.pipeline import make_keypoint_pipeline
    >>> from sklearn_fkd.preprocessing import Resize
    >>> make_keypoint_pipeline(Resize((60, 80)), NoseRegressor()).steps[0][0]
    'resize'
    """
    return KeypointPipeline(
        _name_estimators(steps),
        memory=memory,
        verbose=verbose,
        refine=refine,
        test_scales=test_scales,
    )
