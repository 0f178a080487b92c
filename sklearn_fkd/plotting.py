"""Matplotlib figures of faces, keypoints and training: each is one call and returns the
figure or axes it drew on (nothing is shown or saved)."""

from __future__ import annotations

import numpy as np

from .keypoints import KeypointSchema, check_keypoints, infer_schema, to_points
from .metrics import cumulative_error_distribution, per_image_nme
from .utils.meta import final_estimator

__all__ = [
    "first_conv_weights",
    "plot_best_worst",
    "plot_ced",
    "plot_faces",
    "plot_filters",
    "plot_heatmaps",
    "plot_keypoints",
    "plot_loss_curves",
]


def plot_keypoints(
    image,
    keypoints=None,
    predictions=None,
    schema: KeypointSchema | None = None,
    ax=None,
    show_edges: bool = True,
    show_indices: bool = False,
    title: str | None = None,
):
    """Draw one face with its ground-truth and/or predicted keypoints.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, 3)
    keypoints : array-like of shape (2K,) or (K, 2), optional
        Ground truth, drawn in green; NaN points are not drawn.
    predictions : array-like of shape (2K,) or (K, 2), optional
        Drawn in red.
    schema : KeypointSchema, optional
        For the skeleton lines; inferred from ``K``.
    ax : matplotlib Axes, optional
    show_edges : bool, default=True
        Draw the schema's skeleton lines.
    show_indices : bool, default=False
        Write each point's index beside the ground truth (or prediction).
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax, img = _image_axes(ax, (4, 4), image)
    layers = ((keypoints, "#1bbf3a", "truth"), (predictions, "#e8351e", "prediction"))
    for pts, color, label in layers:
        if pts is None:
            continue
        xy = to_points(check_keypoints(np.asarray(pts, dtype=float).reshape(1, -1)))[0]
        _draw_points(ax, xy, schema, color, size=10, label=label, edges=show_edges)
        if show_indices:
            for k, (x, y) in enumerate(xy):
                if np.isfinite(x):
                    ax.annotate(str(k), (x, y), color=color, fontsize=6)
    ax.set_xlim(-0.5, img.shape[1] - 0.5)
    ax.set_ylim(img.shape[0] - 0.5, -0.5)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_faces(image, faces, boxes=None, schema: KeypointSchema | None = None, ax=None):
    """Draw every face found in a photo: its points and, where given, its box.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, 3)
    faces : list of array-like of shape (K, 2) or (2K,)
        The points of each face (e.g. :func:`sklearn_fkd.predict_faces`'s).
    boxes : array-like of shape (m, 4), optional
        Each face's box ``(x0, y0, x1, y1)``; NaN rows are not drawn.
    schema : KeypointSchema, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax, img = _image_axes(ax, (5, 5), image)
    colours = ("#e8351e", "#1e88e8", "#1bbf3a", "#e8a21e", "#a21ee8")
    for i, points in enumerate(faces):
        colour = colours[i % len(colours)]
        _draw_points(ax, np.asarray(points, dtype=float).reshape(-1, 2), schema, colour, size=6)
        if boxes is not None and not np.isnan(boxes[i]).any():
            x0, y0, x1, y1 = boxes[i]
            ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], color=colour, lw=1, ls="--")
    ax.set_xlim(-0.5, img.shape[1] - 0.5)
    ax.set_ylim(img.shape[0] - 0.5, -0.5)
    ax.set_axis_off()
    ax.set_title(f"{len(faces)} face{'s' if len(faces) != 1 else ''}", fontsize=9)
    return ax


def _image_axes(ax, figsize, image):
    """Axes (new when None) showing ``image``; and the image as an array."""
    ax = _new_axes(ax, figsize)
    img = np.asarray(image)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
    return ax, img


def _draw_points(ax, xy, schema, color, size, label=None, edges: bool = True) -> None:
    """One face's ``(K, 2)`` points and, with ``edges``, its schema's skeleton lines."""
    sch = schema or infer_schema(len(xy))
    if edges:
        for a, b in sch.edges:
            ax.plot(xy[[a, b], 0], xy[[a, b], 1], color=color, lw=0.8, alpha=0.7)
    ax.scatter(xy[:, 0], xy[:, 1], s=size, c=color, label=label, edgecolors="none")


def _new_axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_best_worst(
    images,
    y_true,
    y_pred,
    schema: KeypointSchema | None = None,
    normalize="interocular",
    n: int = 3,
    fig=None,
):
    """A grid of the ``n`` best and ``n`` worst predictions by per-image NME.

    Parameters
    ----------
    images : ndarray of shape (n_samples, H, W[, C]) or list of images
    y_true, y_pred : array-like of shape (n_samples, 2K) or (n_samples, K, 2)
        In the images' pixels.
    schema : KeypointSchema, optional
        Inferred from ``K``.
    normalize : {"interocular", "bbox"}, float or array-like of shape (n_samples,)
        As in :func:`~sklearn_fkd.metrics.per_image_nme`.
    n : int, default=3
        Faces per row.
    fig : matplotlib Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
        Two rows of ``n`` axes: best on top, worst below, each titled with its NME.
    """
    import matplotlib.pyplot as plt

    err = per_image_nme(y_true, y_pred, schema=schema, normalize=normalize)
    scored = np.flatnonzero(~np.isnan(err))
    if len(scored) < 2 * n:
        raise ValueError(
            f"plot_best_worst needs at least {2 * n} scored images, got {len(scored)}"
        )
    order = scored[np.argsort(err[scored], kind="stable")]
    fig = fig or plt.figure(figsize=(2.6 * n, 5.6), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    truth, pred = to_points(check_keypoints(y_true)), to_points(check_keypoints(y_pred))
    for row, (tag, picks) in enumerate((("best", order[:n]), ("worst", order[::-1][:n]))):
        for ax, i in zip(axes[row], picks, strict=True):
            plot_keypoints(
                images[i],
                truth[i],
                pred[i],
                schema=schema,
                ax=ax,
                title=f"{tag} #{i}: NME {err[i]:.3f}",
            )
    axes[0, 0].legend(loc="lower left", fontsize=7)
    return fig


def _history_of(estimator):
    """The skorch ``history`` of an estimator, a pipeline's final step or a search's
    best estimator."""
    _, net = final_estimator(estimator)
    history = getattr(net, "history_", None) or getattr(net, "history", None)
    if not history:
        raise ValueError(f"{type(net).__name__} has no training history: fit it first")
    return history


def plot_loss_curves(estimators, ax=None, log: bool = True):
    """Training (solid) and validation (dashed) loss per epoch from skorch's history.

    Parameters
    ----------
    estimators : estimator, or dict of {label: estimator}
        Fitted skorch estimators, or pipelines/searches around one.
    ax : matplotlib Axes, optional
    log : bool, default=True
        Logarithmic loss axis.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not isinstance(estimators, dict):
        estimators = {type(estimators).__name__: estimators}
    ax = _new_axes(ax, (5, 3.5))
    for label, est in estimators.items():
        history = _history_of(est)
        epochs = np.asarray(history[:, "epoch"])
        (line,) = ax.plot(epochs, history[:, "train_loss"], label=f"{label} train".strip())
        valid = [h.get("valid_loss") for h in history]
        if any(v is not None for v in valid):
            v = np.array([np.nan if x is None else x for x in valid], dtype=float)
            ax.plot(epochs, v, ls="--", color=line.get_color(), label=f"{label} valid".strip())
    ax.set(xlabel="epoch", ylabel="loss", yscale="log" if log else "linear")
    ax.legend(fontsize=8)
    return ax


def first_conv_weights(estimator) -> np.ndarray:
    """The first convolution's weights of a fitted estimator's network.

    Returns
    -------
    ndarray of shape (out_channels, in_channels, kh, kw), float32
    """
    import torch

    _, net = final_estimator(estimator)
    module = getattr(net, "module_", None)
    if module is None:
        raise ValueError(f"{type(net).__name__} has no fitted network (module_): fit it first")
    for layer in module.modules():
        if isinstance(layer, torch.nn.Conv2d):
            return layer.weight.detach().float().cpu().numpy()
    raise ValueError(f"{type(module).__name__} has no Conv2d layer")


def plot_filters(estimator, max_filters: int = 64, fig=None):
    """The learned first-layer filters, one small image each (channels averaged).

    Parameters
    ----------
    estimator : fitted estimator, pipeline or search
    max_filters : int, default=64
    fig : matplotlib Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    all_weights = first_conv_weights(estimator)
    weights = all_weights.mean(axis=1)[:max_filters]
    cols = int(np.ceil(np.sqrt(len(weights))))
    rows = int(np.ceil(len(weights) / cols))
    fig = fig or plt.figure(figsize=(0.8 * cols + 0.4, 0.8 * rows + 0.5))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, w in zip(axes, weights, strict=False):
        lim = np.abs(w).max() or 1.0
        ax.imshow(w, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    fig.suptitle(f"first-layer filters ({len(weights)} of {len(all_weights)})")
    return fig


def plot_heatmaps(image, heatmaps, points=None, max_points: int = 5, fig=None):
    """One face's predicted heatmaps: all points superimposed, then a few one by one.

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        The network's input image (the heatmaps' frame, e.g. after ``Resize``).
    heatmaps : ndarray of shape (K, h, w)
        From :meth:`HeatmapKeypointEstimator.predict_heatmaps` (one image's maps);
        stretched over the image when ``(h, w)`` differs from its size.
    points : sequence of int, optional
        Which points get a panel of their own; default: ``max_points`` spread over K.
    max_points : int, default=5
    fig : matplotlib Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
        The first axes is the superimposed map (the maximum over points).
    """
    import matplotlib.pyplot as plt

    maps = np.asarray(heatmaps, dtype=np.float64)
    if maps.ndim != 3:
        raise ValueError(f"heatmaps must have shape (K, h, w), got {maps.shape}")
    img = np.asarray(image)
    if points is None:
        points = np.unique(np.linspace(0, len(maps) - 1, min(max_points, len(maps))).astype(int))
    points = list(points)
    fig = fig or plt.figure(figsize=(2.2 * (len(points) + 1), 2.6), layout="constrained")
    axes = fig.subplots(1, len(points) + 1, squeeze=False)[0]
    extent = (-0.5, img.shape[1] - 0.5, img.shape[0] - 0.5, -0.5)
    panels = [("all points", maps.max(axis=0)), *((f"point {k}", maps[k]) for k in points)]
    for ax, (title, m) in zip(axes, panels, strict=True):
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, extent=extent)
        ax.imshow(m / (m.max() or 1.0), cmap="inferno", alpha=0.55, extent=extent)
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    return fig


def plot_ced(
    errors: dict,
    max_error: float = 0.1,
    ax=None,
    xlabel: str = "NME (normalised by the outer-eye-corner distance)",
):
    """Cumulative error distribution curves: share of images with error <= x.

    Parameters
    ----------
    errors : dict of {label: array-like of shape (n_samples,)}
        Per-image errors of each model (e.g. :func:`~sklearn_fkd.metrics.per_image_nme`).
        The legend gives each curve's AUC up to ``max_error`` and its failure rate.
    max_error : float, default=0.1
        Right end of the x axis.
    ax : matplotlib Axes, optional
    xlabel : str

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not errors:
        raise ValueError("plot_ced needs at least one model's errors")
    ax = _new_axes(ax, (5, 4))
    x = np.linspace(0, max_error, 201)
    for label, e in errors.items():
        e = np.asarray(e, dtype=np.float64)
        e = e[~np.isnan(e)]
        curve = cumulative_error_distribution(e, x)
        area = float(np.clip(1.0 - e / max_error, 0, 1).mean())
        fails = float((e > max_error).mean())
        ax.plot(x, curve, label=f"{label} (AUC {area:.3f}, FR {fails:.1%})")
    ax.set(xlabel=xlabel, ylabel="share of images", xlim=(0, max_error), ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return ax
