"""What the commands share: output paths checked before any work, a data set with
keypoints, a model by name or file, a device."""

from __future__ import annotations

import os
from pathlib import Path

from ..datasets import load_dataset, loading_progress
from ..estimators.device import check_device
from ..persistence import load_model
from ..weights import is_pretrained_name, pretrained_path
from . import CommandError

__all__ = ["check_device", "check_new_file", "check_output_folder", "load_data", "load_model_for"]


def check_new_file(path: str, force: bool) -> Path:
    """An output file that may be written: not a folder, not an existing file unless
    ``force``, in a folder that exists or can be made. Checked before the work."""
    out = Path(path)
    if out.is_dir():
        raise CommandError(f"--output {out} is a folder; give a file name")
    if out.exists() and not force:
        raise CommandError(f"--output {out} exists; pass --force to replace it")
    for parent in (out.parent, *out.parent.parents):
        if parent.exists():
            if not parent.is_dir():
                raise CommandError(f"--output {out}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK):
                raise CommandError(f"--output {out}: cannot write in {parent}")
            break
    return out


def check_output_folder(path: str) -> Path:
    """An output folder that may be written into (it may exist already; no file on its
    path). Checked before the work."""
    out = Path(path)
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                where = "" if folder == out else f": {folder} is a file, not a folder"
                raise CommandError(f"--output {out} is a file; give a folder{where}")
            if not os.access(folder, os.W_OK):
                raise CommandError(f"--output {out}: cannot write in {folder}")
            break
    return out


def load_data(spec: str, data_home):
    """A data set with keypoints, loaded under a progress bar."""
    with loading_progress(f"loading {spec}"):
        data = load_dataset(spec, data_home=data_home)
    if data.keypoints is None:
        raise CommandError(f"{spec} has no keypoints")
    return data


def load_model_for(path: str, args, device=None):
    if is_pretrained_name(path) and not Path(path).exists():
        path = pretrained_path(path)
    model = load_model(path, device=device, trusted=args.trust_pickle)
    if not hasattr(model, "predict"):
        raise CommandError(f"{path} holds a {type(model).__name__}, which cannot predict")
    return model
