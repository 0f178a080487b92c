"""Matplotlib figures of faces and keypoints. Every function returns the axes it drew on."""

from __future__ import annotations

import numpy as np

from .keypoints import KeypointSchema, check_keypoints, infer_schema, to_points

__all__ = ["plot_keypoints"]


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
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    img = np.asarray(image)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest")
    layers = ((keypoints, "#1bbf3a", "truth"), (predictions, "#e8351e", "prediction"))
    for pts, color, label in layers:
        if pts is None:
            continue
        xy = to_points(check_keypoints(np.asarray(pts, dtype=float).reshape(1, -1)))[0]
        sch = schema or infer_schema(len(xy))
        if show_edges:
            for a, b in sch.edges:
                ax.plot(xy[[a, b], 0], xy[[a, b], 1], color=color, lw=0.8, alpha=0.7)
        ax.scatter(xy[:, 0], xy[:, 1], s=10, c=color, label=label, edgecolors="none")
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
