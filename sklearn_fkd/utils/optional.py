"""Optional extras, imported when used: one helper, whose error names what to install."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "import_extra"]

#: each optional module and the extra of sklearn-fkd that installs it
EXTRAS = {
    "dlib": "dlib",
    "av": "video",
    "onnx": "onnx",
    "onnxscript": "onnx",
    "onnxruntime": "onnx",
}


def import_extra(module: str, purpose: str) -> ModuleType:
    """Import an optional module of :data:`EXTRAS`.

    Parameters
    ----------
    module : str
        Its name, e.g. ``"av"``.
    purpose : str
        What needs it, for the message (``"reading a video file"``).

    Raises
    ------
    ImportError
        Naming the ``pip install "sklearn-fkd[extra]"`` to run.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRAS[module]
        raise ImportError(f'{purpose} needs {module}: pip install "sklearn-fkd[{extra}]"') from exc
