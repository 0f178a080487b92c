"""Model files that are data, not code: JSON for the model's structure and safetensors
for its weights, in one zip file.

A model file holds

* ``model.json``: the format tag and version; the library, torch and scikit-learn
  versions that wrote it; the creation date and the caller's metadata (provenance); and
  the model as a tree: each pipeline step and estimator by class name, with its
  parameters and its fitted state (a :class:`~sklearn_fkd.preprocessing.FaceCrop`'s
  detector calibration, an estimator's schema, image size, input statistics, mean
  shape and training history);
* ``weights.safetensors``: every network's weights (with their ``fit_state`` buffers),
  whose SHA-256 ``model.json`` records.

Loading rebuilds only the classes of this library that a model can hold (the three
estimators, the steps, ``KeypointPipeline``, ``Augment``, ``KeypointSchema``) and the
torch optimizers named in :data:`ALLOWED_TYPES`, with only the parameters ``get_params``
knows and the fitted attributes each class produces; anything else is refused by name,
nothing is ever unpickled and no path inside a file is followed, so opening, predicting
with or refitting a shared model file cannot run code from it. Sizes are checked before
anything is read or allocated. :func:`model_info` reads ``model.json`` alone.

The package's modules, bottom up: :mod:`.archive` (the zip container: limits, checksum,
atomic writes), :mod:`.values` (JSON values and the objects a parameter may hold),
:mod:`.network` (a network checked against its weights), :mod:`.tree` (the model's
classes, parameters and fitted attributes) and :mod:`.files` (the public functions).
The public names below are served from :mod:`.files` on first use, so that the lower
modules (which :mod:`sklearn_fkd.weights` reads a network with) do not import the
estimators.

Pickles still work as scikit-learn users expect (``pickle.dumps(est)``,
``save_model(..., format="pickle")``), but :func:`load_model` refuses a pickle unless
the caller says the file is trusted (``trusted=True``; the CLI's ``--trust-pickle``):
unpickling runs whatever code the file holds. (skops cannot serialise these models:
its ``dump`` fails on torch tensors.)
"""

from __future__ import annotations

import importlib

__all__ = [
    "ALLOWED_TYPES",
    "FORMAT_VERSION",
    "MODEL_FORMAT",
    "ModelVersionWarning",
    "UntrustedModelError",
    "load_model",
    "model_info",
    "save_model",
]


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(".files", __name__), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
