"""The folder where the library keeps files between processes, to save time only:
onnxruntime graphs of the models (:mod:`~sklearn_fkd.estimators.runtime`) and dlib's
face detector (:mod:`~sklearn_fkd.detection`). Everything in it can be deleted; a
missing, unreadable or damaged file is made again."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "read_cached", "write_cached"]


def cache_dir() -> Path | None:
    """``$SKLEARN_FKD_CACHE`` (empty: keep nothing, None), else
    ``$XDG_CACHE_HOME/sklearn-fkd``, else ``~/.cache/sklearn-fkd``."""
    given = os.environ.get("SKLEARN_FKD_CACHE")
    if given is not None:
        return Path(given).expanduser() if given else None
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sklearn-fkd"


def read_cached(path: Path | None, max_bytes: int) -> bytes | None:
    """The file's bytes, or None (no path, missing, unreadable, larger than
    ``max_bytes``)."""
    try:
        if path is None or path.stat().st_size > max_bytes:
            return None
        return path.read_bytes()
    except OSError:
        return None


def write_cached(path: Path | None, data: bytes) -> None:
    """Keep ``data`` at ``path``, written whole or not at all (a reader never sees half
    a file); failures are ignored, as the cache only saves time."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=path.parent, suffix=".partial")
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(partial, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(partial)
