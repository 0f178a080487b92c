"""Finding the keypoint estimator inside pipelines and searches."""

from __future__ import annotations

__all__ = ["final_estimator"]


def final_estimator(model) -> tuple[str, object]:
    """The estimator that predicts, and its parameter prefix.

    Walks into a fitted search's ``best_estimator_`` and a pipeline's last step, as
    often as they nest.

    Parameters
    ----------
    model : estimator, pipeline or search

    Returns
    -------
    prefix : str
        The ``set_params`` prefix of the estimator inside the pipelines walked, e.g.
        ``"facekeypointregressor__"`` (a search adds none).
    estimator : object
        ``model`` itself when it is neither a pipeline nor a fitted search.
    """
    prefix = ""
    while True:
        best = getattr(model, "best_estimator_", None)
        if best is not None and best is not model:
            model = best
            continue
        steps = getattr(model, "steps", None)
        if isinstance(steps, list) and steps:
            name, model = steps[-1]
            prefix += f"{name}__"
            continue
        return prefix, model
