"""The model file as a container: a zip of ``model.json`` and ``weights.safetensors``,
read within size limits and written atomically.

Nothing here knows what a model is: :mod:`.tree` turns the JSON into objects.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import torch
from safetensors import SafetensorError
from safetensors.torch import load

__all__ = [
    "FORMAT_VERSION",
    "JSON_MEMBER",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_WEIGHTS_BYTES",
    "MODEL_FORMAT",
    "WEIGHTS_MEMBER",
    "is_model_archive",
    "read_archive",
    "read_weights",
    "write_archive",
    "write_atomically",
]

MODEL_FORMAT = "sklearn-fkd model"
FORMAT_VERSION = 1
JSON_MEMBER, WEIGHTS_MEMBER = "model.json", "weights.safetensors"
#: the largest ``model.json`` read (the shipped models' is about 40 KB)
MAX_JSON_BYTES = 16 * 2**20
#: the largest weights member read (a float32 ResNet-18 is about 45 MB)
MAX_WEIGHTS_BYTES = 512 * 2**20
#: the deepest nesting of lists and objects in ``model.json`` (the shipped models': 9)
MAX_JSON_DEPTH = 32


def is_model_archive(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a regular file in this container format (a zip holding
    ``model.json``); reads the zip's directory only."""
    path = Path(path)
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return JSON_MEMBER in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    """One member's bytes, refused before reading when its declared size exceeds
    ``limit``, and never more than the declared size (a lying header fails its CRC)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ValueError(f"{path} is not a readable sklearn-fkd model file (no {name})") from None
    if info.file_size > limit:
        raise ValueError(
            f"{path}: its {name} declares {info.file_size:,} bytes, over the limit of "
            f"{limit:,}: not a model file of this library"
        )
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise ValueError(f"{path}: its {name} cannot be read ({exc})") from None
    if len(data) != info.file_size:
        raise ValueError(f"{path}: its {name} is not the size its header says (altered?)")
    return data


def _depth(value) -> int:
    """Nesting depth of parsed JSON (iterative: no recursion on hostile input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number a model file holds")


def _parse_json(text: bytes, path: Path) -> dict:
    try:  # NaN and Infinity are refused (the writer never writes them)
        document = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ValueError(f"{path}: its {JSON_MEMBER} is not valid JSON ({reason})") from None
    if _depth(document) > MAX_JSON_DEPTH:
        raise ValueError(
            f"{path}: its {JSON_MEMBER} nests deeper than {MAX_JSON_DEPTH} levels: not a "
            "model file of this library"
        )
    return document


def check_header(document, path: Path) -> None:
    """The format tag, version and the ``model`` node's presence, each a one-line error."""
    if not (isinstance(document, dict) and document.get("format") == MODEL_FORMAT):
        raise ValueError(
            f"{path} is not a sklearn-fkd model file (no format tag in {JSON_MEMBER})"
        )
    version = document.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path}: format_version must be a whole number >= 1, got {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {version}; this sklearn-fkd reads up to "
            f"{FORMAT_VERSION}: upgrade sklearn-fkd"
        )
    if not isinstance(document.get("model"), dict):
        found = type(document["model"]).__name__ if "model" in document else "nothing"
        raise ValueError(
            f"{path}: its {JSON_MEMBER} must hold the model as an object, not {found}"
        )
    if not isinstance(document.get("metadata", {}), dict):
        raise ValueError(f"{path}: its metadata must be an object")


def read_archive(path: Path, weights: bool = True) -> tuple[dict, bytes]:
    """The checked ``model.json`` document and the weights' bytes (checksum verified;
    ``b""`` when ``weights`` is False).

    Raises
    ------
    ValueError
        One line naming ``path``: not a zip, a member over its size limit, JSON that
        is invalid or nested too deeply, a missing or wrong header, or weights that do
        not match their recorded checksum.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable sklearn-fkd model file ({exc})") from None
    with archive:
        document = _parse_json(_read_member(archive, JSON_MEMBER, MAX_JSON_BYTES, path), path)
        check_header(document, path)
        if not weights:
            return document, b""
        blob = _read_member(archive, WEIGHTS_MEMBER, MAX_WEIGHTS_BYTES, path)
    if hashlib.sha256(blob).hexdigest() != document.get("weights_sha256"):
        raise ValueError(f"{path}: the weights do not match their recorded checksum (altered?)")
    return document, blob


def write_archive(file: BinaryIO, document: dict, blob: bytes) -> None:
    """Write the container to an open binary file; ``document`` gets the checksum."""
    document = {**document, "weights_sha256": hashlib.sha256(blob).hexdigest()}
    try:
        text = json.dumps(document, indent=1, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the metadata or the model cannot be written as JSON: {exc}") from None
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(JSON_MEMBER, text)
        archive.writestr(WEIGHTS_MEMBER, blob)


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write`` on a fresh temporary file in ``path``'s folder, then rename it to
    ``path`` in one step.

    The temporary file is created exclusively (``O_EXCL``: a planted file or link of
    any name is never written through) with a name of its own per writer, so two
    concurrent writers never share one; a reader sees the old file or the new one,
    never half of one. ``path`` itself, if a link, is replaced, not followed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it 0600
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def read_weights(blob: bytes, path: Path) -> dict:
    """The tensors of the weights member; every float weight finite (a fit state's
    mean shape may hold NaN for never-annotated points)."""
    if not blob:
        return {}
    try:
        weights = load(blob)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{path}: its weights are unreadable ({exc})") from None
    for key, tensor in weights.items():
        if ".fit_state.mean_shape" in key or not tensor.is_floating_point():
            continue
        if not bool(torch.isfinite(tensor).all()):
            raise ValueError(f"{path}: the weight {key} holds values that are not finite")
    return weights
