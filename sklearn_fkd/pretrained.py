"""Pretrained face models inside the package, and the weights to fine-tune from.

The models are files of this package (``sklearn_fkd/models/*.fkd``, the safe format of
:mod:`sklearn_fkd.persistence`): loading one never unpickles and never touches the
network. Each file records its model card in its metadata: the points, the input size,
the training data and command, the NME measured on the benchmark sets, and the licence
terms of its training data. ``python benchmarks/train_pretrained.py NAME`` rebuilds a
file from the data home.

.. code-block:: python

    from sklearn_fkd import load_pretrained

    model = load_pretrained("ibug68")   # a fitted KeypointPipeline
    points = model.predict(["photo.jpg"])  # (1, 136), in the photo's pixels

**Licence.** The shipped models were trained on 300-W (HELEN, LFPW; Sagonas et al.)
and YouTube Faces (Wolf et al. 2011), whose terms allow research and non-commercial use
only; so do the models, as dlib's 68-point model. The code is BSD-3.
"""

from __future__ import annotations

from .persistence.files import load_model
from .weights import MODELS_DIR, PretrainedWeights, pretrained_path

__all__ = ["LICENCE_NOTE", "list_pretrained", "load_pretrained"]

LICENCE_NOTE = (
    "Trained on 300-W (HELEN, LFPW, AFW; Sagonas et al.) and YouTube Faces (Wolf et al. "
    "2011), which are for research and non-commercial use only: so is this model."
)


def load_pretrained(name="ibug68", device: str | None = None):
    """A shipped model: a fitted :class:`~sklearn_fkd.pipeline.KeypointPipeline`.

    It takes full photos (a face crop with its detector and calibration, grey, resize,
    the estimator) and returns points in each photo's pixels. Nothing is downloaded.

    Parameters
    ----------
    name : str or PretrainedWeights, default="ibug68"
        See :func:`list_pretrained`.
    device : str, optional
        Where to run the network (default: ``"auto"``).

    Returns
    -------
    KeypointPipeline
    """
    return load_model(pretrained_path(name), device=device)


def list_pretrained() -> list[dict]:
    """The shipped models with their cards (read from the files' JSON only).

    Returns
    -------
    list of dict
        Per model: ``name``, ``points`` (schema name and count), ``input_size``,
        ``nme`` (on the benchmark sets, through the model's own detector and from the
        true boxes), ``training_data``, ``training_command``, ``licence`` and ``file``.
    """
    cards = []
    for member in PretrainedWeights:
        path = MODELS_DIR / f"{member.value}.fkd"
        if not path.is_file():
            continue
        cards.append({"name": member.value, **member.meta, "file": str(path)})
    return cards
