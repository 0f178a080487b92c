r"""Keypoint error metrics and scikit-learn scorers, NaN-aware.

All functions take ``y_true`` and ``y_pred`` of shape ``(n, 2K)`` (interleaved
``x0, y0, ...``) or ``(n, K, 2)``. A point that is NaN in ``y_true`` is missing: it is
skipped. A NaN in ``y_pred`` where the truth is present is an error (a model that
fails to predict must not look perfect). With :math:`e_{ik}` the Euclidean error of
point :math:`k` in image :math:`i`, :math:`V` the visible points and :math:`d_i` the
normalising distance of image :math:`i`:

* ``mean_keypoint_error`` = :math:`\frac{1}{|V|}\sum_{(i,k)\in V} e_{ik}` (pixels);
* ``keypoint_rmse`` = :math:`\sqrt{\text{mean of squared coordinate errors}}` (Kaggle);
* ``keypoint_mae`` = mean absolute coordinate error;
* ``nme`` = :math:`\frac{1}{n}\sum_i \frac{1}{|V_i|}\sum_{k\in V_i} e_{ik} / d_i`;
* ``pck`` = share of visible points with :math:`e_{ik} / d_i \le \alpha`;
* ``ced_auc`` = area under the cumulative distribution of per-image NME up to
  ``threshold``, divided by ``threshold`` (1 is perfect);
* ``failure_rate`` = share of images whose NME exceeds ``threshold``.

:math:`d_i` is the distance between the schema's normalising pair in ``y_true``
(``normalize="interocular"``: outer eye corners for 68 points, eye centres for Kaggle's
15), or :math:`\sqrt{w h}` of the ground-truth points' bounding box
(``normalize="bbox"``), or given by the caller (a float or an array of shape ``(n,)``).

Points whose schema has no normalising pair (the nose tip) are normalised by one rule
everywhere (the scorers, the estimators' ``score``, the command line, the demo):
:func:`fallback_normalizing_distance`, the eye distance of the full annotation they were
taken from when it has one, else each image's diagonal.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import sklearn.metrics

from .imaging import image_diagonals
from .keypoints import KeypointSchema, check_keypoints, infer_schema, to_points
from .utils.meta import final_estimator

__all__ = [
    "KeypointScorer",
    "ced_auc",
    "cumulative_error_distribution",
    "failure_rate",
    "fallback_normalizing_distance",
    "get_scorer",
    "get_scorer_names",
    "get_scorers",
    "keypoint_mae",
    "keypoint_rmse",
    "mean_keypoint_error",
    "nme",
    "normalizing_distance",
    "pck",
    "per_image_nme",
    "point_errors",
]


def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = check_keypoints(y_true, name="y_true")
    p = check_keypoints(y_pred, name="y_pred")
    if t.shape != p.shape:
        raise ValueError(
            f"y_true and y_pred have different shapes in the flat layout: {t.shape} vs {p.shape}"
        )
    if t.shape[0] == 0:
        raise ValueError("y_true is empty")
    bad = np.isnan(p) & ~np.isnan(t)
    if bad.any():
        row = int(np.argwhere(bad)[0, 0])
        raise ValueError(
            f"y_pred has NaN where y_true has a point ({int(bad.sum()) // 2} points, first "
            f"in row {row}); a missing prediction cannot be scored"
        )
    if np.isnan(t).all():
        raise ValueError("y_true has no visible keypoint (all NaN)")
    return to_points(t), to_points(p)


def point_errors(y_true, y_pred) -> np.ndarray:
    """Euclidean error of every point, NaN where the truth is missing.

    Returns
    -------
    ndarray of shape (n_samples, n_points)
    """
    t, p = _check_pair(y_true, y_pred)
    return np.sqrt(((t - p) ** 2).sum(axis=2))


def mean_keypoint_error(y_true, y_pred) -> float:
    """Mean Euclidean point error in pixels over all visible points."""
    return float(np.nanmean(point_errors(y_true, y_pred)))


def keypoint_rmse(y_true, y_pred) -> float:
    """Root mean squared coordinate error (Kaggle Facial Keypoints' metric), pixels."""
    t, p = _check_pair(y_true, y_pred)
    return float(np.sqrt(np.nanmean((t - p) ** 2)))


def keypoint_mae(y_true, y_pred) -> float:
    """Mean absolute coordinate error, pixels (the Berkeley class Kaggle's metric)."""
    t, p = _check_pair(y_true, y_pred)
    return float(np.nanmean(np.abs(t - p)))


def normalizing_distance(
    y_true, schema: KeypointSchema | None = None, normalize="interocular"
) -> np.ndarray:
    """The per-image distance that normalises errors.

    Parameters
    ----------
    y_true : array-like of shape (n, 2K) or (n, K, 2)
    schema : KeypointSchema, optional
        Inferred from ``K`` when omitted.
    normalize : {"interocular", "bbox"}, float or array-like of shape (n,)
        ``"interocular"``: distance of the schema's ``normalizing_pair`` in ``y_true``;
        ``"bbox"``: :math:`\\sqrt{w h}` of the visible ground-truth points' box; a
        number or array: used as given.

    Returns
    -------
    ndarray of shape (n,)

    Raises
    ------
    ValueError
        If the schema has no normalising pair, the pair is missing in some image, or a
        distance is not positive.
    """
    t = to_points(check_keypoints(y_true, name="y_true"))
    n, k = t.shape[:2]
    visible = ~np.isnan(t).all(axis=(1, 2))  # rows without any point are skipped
    schema = schema or infer_schema(k)
    if schema.n_points != k:
        raise ValueError(f"schema {schema.name!r} has {schema.n_points} points, y_true has {k}")
    if isinstance(normalize, str):
        if normalize == "interocular":
            if schema.normalizing_pair is None:
                raise ValueError(
                    f"schema {schema.name!r} has no normalizing_pair; use normalize='bbox' "
                    "or give the distances"
                )
            a, b = schema.normalizing_pair
            d = np.sqrt(((t[:, a] - t[:, b]) ** 2).sum(axis=1))
            missing = np.isnan(d) & visible
            if missing.any():
                raise ValueError(
                    f"the normalizing pair ({schema.point_names[a]}, {schema.point_names[b]}) "
                    f"is missing in {int(missing.sum())} of {n} images (first: row "
                    f"{int(np.flatnonzero(missing)[0])}); use normalize='bbox'"
                )
        elif normalize == "bbox":
            with np.errstate(invalid="ignore"), _all_nan_ok():
                w = np.nanmax(t[..., 0], axis=1) - np.nanmin(t[..., 0], axis=1)
                h = np.nanmax(t[..., 1], axis=1) - np.nanmin(t[..., 1], axis=1)
            d = np.sqrt(w * h)
        else:
            raise ValueError(
                f"normalize must be 'interocular', 'bbox', a number or an array, got {normalize!r}"
            )
    else:
        d = np.broadcast_to(np.asarray(normalize, dtype=np.float64), (n,)).copy()
    bad = visible & ~(d > 0)
    if bad.any():
        raise ValueError(
            f"normalizing distance is not positive in {int(bad.sum())} images (first: row "
            f"{int(np.flatnonzero(bad)[0])})"
        )
    return d


@contextmanager
def _all_nan_ok():
    """Silence numpy's all-NaN-slice warnings (such rows are skipped by the callers)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        yield


def per_image_nme(y_true, y_pred, schema=None, normalize="interocular") -> np.ndarray:
    """Per-image normalised mean error; NaN for images with no visible point.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    err = point_errors(y_true, y_pred)
    d = normalizing_distance(y_true, schema=schema, normalize=normalize)
    with _all_nan_ok(), np.errstate(invalid="ignore"):
        visible = ~np.isnan(err).all(axis=1)
        out = np.full(len(err), np.nan)
        out[visible] = np.nanmean(err[visible], axis=1) / d[visible]
    return out


def nme(y_true, y_pred, schema=None, normalize="interocular") -> float:
    """Normalised mean error, averaged over images (see the module docs)."""
    return float(np.nanmean(per_image_nme(y_true, y_pred, schema, normalize)))


def pck(y_true, y_pred, alpha: float = 0.05, schema=None, normalize="interocular") -> float:
    """Percentage of correct keypoints: share of visible points within ``alpha * d_i``."""
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    err = point_errors(y_true, y_pred)
    d = normalizing_distance(y_true, schema=schema, normalize=normalize)
    visible = ~np.isnan(err)
    with np.errstate(invalid="ignore"):
        hits = (err / d[:, None]) <= alpha
    return float(hits[visible].mean())


def cumulative_error_distribution(errors, thresholds) -> np.ndarray:
    """Share of images whose error is at most each threshold (the CED curve).

    Parameters
    ----------
    errors : array-like of shape (n,)
        Per-image errors (e.g. :func:`per_image_nme`); NaN entries are skipped.
    thresholds : array-like of shape (m,)

    Returns
    -------
    ndarray of shape (m,)
    """
    e = np.asarray(errors, dtype=np.float64)
    e = np.sort(e[~np.isnan(e)])
    if e.size == 0:
        raise ValueError("no finite errors")
    return np.searchsorted(e, np.asarray(thresholds, dtype=np.float64), side="right") / e.size


def ced_auc(
    y_true, y_pred, threshold: float = 0.08, schema=None, normalize="interocular"
) -> float:
    """Area under the CED curve of per-image NME up to ``threshold``, divided by it.

    Computed exactly: ``mean(clip(1 - nme_i / threshold, 0, 1))``. 1 is perfect, 0 means
    every image's NME is at least ``threshold``. (Not scikit-learn's ``auc``, the area
    under any curve.)
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    e = per_image_nme(y_true, y_pred, schema, normalize)
    e = e[~np.isnan(e)]
    return float(np.clip(1.0 - e / threshold, 0.0, 1.0).mean())


def failure_rate(
    y_true, y_pred, threshold: float = 0.10, schema=None, normalize="interocular"
) -> float:
    """Share of images whose NME exceeds ``threshold``."""
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    e = per_image_nme(y_true, y_pred, schema, normalize)
    e = e[~np.isnan(e)]
    return float((e > threshold).mean())


# -- scorers -------------------------------------------------------------------------

_SCORERS = {
    "neg_mean_keypoint_error": (mean_keypoint_error, -1),
    "neg_keypoint_rmse": (keypoint_rmse, -1),
    "neg_keypoint_mae": (keypoint_mae, -1),
    "neg_nme": (nme, -1),
    "pck": (pck, 1),
    "ced_auc": (ced_auc, 1),
    "neg_failure_rate": (failure_rate, -1),
}
_USES_SCHEMA = {nme, pck, ced_auc, failure_rate}


def fallback_normalizing_distance(y_full, X=None, schema: KeypointSchema | None = None):
    """What normalises errors of points whose schema has no normalising pair (the nose).

    The distance of the normalising pair (the outer eye corners) in the full annotation
    ``y_full`` the points were taken from, when its schema has one and every annotated
    image has it; else the diagonal :math:`\\sqrt{H^2 + W^2}` of each image of ``X``.
    One rule for the scorers, the estimators' ``score``, the command line and the demo,
    so a nose model gets one NME on one data set.

    Parameters
    ----------
    y_full : array-like of shape (n, 2K) or (n, K, 2)
        The annotation as the caller has it (e.g. IMM's 58 points, or just the nose).
    X : images, optional
        Needed when the annotation has no usable pair.
    schema : KeypointSchema, optional
        Of ``y_full``; inferred from ``K`` when omitted.

    Returns
    -------
    ndarray of shape (n,)
    """
    full = to_points(check_keypoints(y_full, name="y"))
    if schema is None or schema.n_points != full.shape[1]:
        schema = infer_schema(full.shape[1])
    if schema.normalizing_pair is not None:
        a, b = schema.normalizing_pair
        d = np.sqrt(((full[:, a] - full[:, b]) ** 2).sum(axis=1))
        annotated = ~np.isnan(full).all(axis=(1, 2))
        if (d[annotated] > 0).all():
            return d
    if X is None:
        raise ValueError(
            f"schema {schema.name!r} has no normalizing pair: the images are needed to "
            "normalise by their diagonals"
        )
    return image_diagonals(X)


def _fitted_schema(estimator) -> KeypointSchema | None:
    """The ``schema_`` of an estimator, or of the one inside a pipeline or search."""
    schema = getattr(final_estimator(estimator)[1], "schema_", None)
    return schema if isinstance(schema, KeypointSchema) else None


class KeypointScorer:
    """A scorer ``scorer(estimator, X, y) -> float``, greater is better.

    Called on an estimator, it compares ``estimator.predict(X, **predict_params)`` with
    the points of ``y`` that the estimator predicts (its ``prepare_targets``: a
    ``NoseRegressor`` scored against full IMM shapes is compared with their nose tips).
    Schema-aware metrics normalise by the fitted schema's pair (outer eye corners, eye
    centres); when the schema has none (the nose) and ``normalize`` is not given, by
    :func:`fallback_normalizing_distance` of the ``y`` given: the eye distance of the full
    annotation, else each image's diagonal in ``X``'s pixels.

    Parameters
    ----------
    metric : callable
        One of this module's metrics.
    sign : {1, -1}
        -1 for errors (the scorer returns the negated error).
    **kwargs
        Passed to the metric (``alpha``, ``threshold``, ``normalize``, ``schema``).
        Schema-aware metrics use the fitted estimator's ``schema_`` unless ``schema``
        is given.
    """

    def __init__(self, metric, sign: int = 1, **kwargs):
        self.metric = metric
        self.sign = sign
        self.kwargs = kwargs

    def __call__(self, estimator, X, y_true, sample_weight=None, **predict_params) -> float:
        if sample_weight is not None:
            raise ValueError(f"{self!r} does not support sample_weight")
        _, inner = final_estimator(estimator)
        y_full = check_keypoints(y_true, name="y")
        prepare = getattr(inner, "prepare_targets", None)
        y_model = y_full if prepare is None else prepare(y_full)
        fitted = getattr(inner, "n_keypoints_", None)
        given = y_model.shape[1] // 2
        if fitted is not None and given != fitted:
            raise ValueError(
                f"y has {given} points but {type(inner).__name__} was fitted on {fitted} "
                f"({inner.schema_.name}); score it with keypoints of that schema"
            )
        full_schema = getattr(inner, "schema", None)  # the schema of the caller's y
        if not isinstance(full_schema, KeypointSchema):
            full_schema = None
        y_pred = estimator.predict(X, **predict_params)
        return self.score(y_model, y_pred, estimator, X=X, y_full=y_full, full_schema=full_schema)

    def score(
        self, y_true, y_pred, estimator=None, X=None, y_full=None, full_schema=None
    ) -> float:
        """The signed metric of predictions already made.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n, 2K)
        estimator : fitted estimator, optional
            Its ``schema_`` is the schema of the points.
        X : images, optional
        y_full : array-like, optional
            The annotation ``y_true`` was taken from (default: ``y_true``) and
            ``full_schema`` its schema: for :func:`fallback_normalizing_distance`.
        """
        kwargs = dict(self.kwargs)
        if self.metric in _USES_SCHEMA:
            if kwargs.get("schema") is None and estimator is not None:
                kwargs["schema"] = _fitted_schema(estimator)
            schema = kwargs.get("schema")
            if schema is None:
                schema = infer_schema(check_keypoints(y_true, name="y_true").shape[1] // 2)
            if schema.normalizing_pair is None and "normalize" not in kwargs:
                full = y_true if y_full is None else y_full
                kwargs["normalize"] = fallback_normalizing_distance(full, X, full_schema)
        return self.sign * self.metric(y_true, y_pred, **kwargs)

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        prefix = "neg_" if self.sign < 0 else ""
        return f"KeypointScorer({prefix}{self.metric.__name__}{args})"


def get_scorer_names() -> list[str]:
    """Names this library adds to scikit-learn's scorers."""
    return sorted(_SCORERS)


def get_scorer(name, **kwargs):
    """A scorer by name, for ``cross_val_score``/``GridSearchCV(scoring=...)``.

    Parameters
    ----------
    name : str or callable
        One of :func:`get_scorer_names` (``"neg_nme"``, ``"pck"``, ...), or any name
        scikit-learn knows (passed to :func:`sklearn.metrics.get_scorer`); a callable
        is returned unchanged.
    **kwargs
        Metric options, e.g. ``get_scorer("pck", alpha=0.1, normalize="bbox")``.

    Examples
    --------
    >>> from sklearn_fkd.metrics import get_scorer
    >>> get_scorer("pck", alpha=0.1)
    KeypointScorer(pck, alpha=0.1)
    """
    if callable(name):
        return name
    if name in _SCORERS:
        metric, sign = _SCORERS[name]
        return KeypointScorer(metric, sign, **kwargs)
    if kwargs:
        raise ValueError(f"options {sorted(kwargs)} are only for this library's scorers")
    try:
        return sklearn.metrics.get_scorer(name)
    except ValueError:
        raise ValueError(
            f"unknown scorer {name!r}; this library's: {', '.join(get_scorer_names())}, "
            "or any of sklearn.metrics.get_scorer_names()"
        ) from None


def get_scorers(names) -> dict:
    """Several scorers by name, as the ``scoring`` dict of a multi-metric search.

    scikit-learn's ``GridSearchCV`` knows only its own scorer names; pass it this dict
    and name one of its keys as ``refit``.

    Parameters
    ----------
    names : iterable of str, or dict
        Scorer names (see :func:`get_scorer`), or ``{key: name or callable}`` to choose
        the keys (e.g. ``{"pck@0.1": get_scorer("pck", alpha=0.1)}``).

    Returns
    -------
    dict of {str: callable}

    Examples
    --------
    >>> from sklearn_fkd.metrics import get_scorers
    >>> sorted(get_scorers(["neg_nme", "pck"]))
    ['neg_nme', 'pck']
    """
    if isinstance(names, str):
        raise TypeError(f"get_scorers takes several names; for one use get_scorer({names!r})")
    pairs = names.items() if isinstance(names, dict) else ((name, name) for name in names)
    scorers = {str(key): get_scorer(value) for key, value in pairs}
    if not scorers:
        raise ValueError("get_scorers needs at least one name")
    return scorers
