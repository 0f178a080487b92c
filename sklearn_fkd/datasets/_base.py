"""Where the data lives, and reading images from disk (shared by every loader)."""

from __future__ import annotations

import contextvars
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from ..imaging import IMAGE_SUFFIXES, read_image

DATA_ENV_VAR = "SKLEARN_FKD_DATA"


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The folder that holds the data sets (one setting for the whole library).

    Resolved in this order:

    1. ``data_home`` when given;
    2. the environment variable ``SKLEARN_FKD_DATA``;
    3. ``~/sklearn_fkd_data``.

    The folder is not created and need not exist; loaders raise a clear
    :class:`FileNotFoundError` that names it when a data set is missing.

    Parameters
    ----------
    data_home : str or path-like, optional

    Returns
    -------
    pathlib.Path
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path("~/sklearn_fkd_data").expanduser()


def dataset_folder(name: str, data_home=None, *, hint: str = "") -> Path:
    """``get_data_home(data_home) / name``, or a FileNotFoundError that says what to do."""
    home = get_data_home(data_home)
    folder = home / name
    if not folder.is_dir():
        raise FileNotFoundError(
            f"data set folder {folder} not found. Put the {name!r} data there, or point "
            f"the {DATA_ENV_VAR} environment variable (or data_home=) at the folder that "
            f"holds {name!r}.{(' ' + hint) if hint else ''}"
        )
    return folder


_PROGRESS: contextvars.ContextVar[str | None] = contextvars.ContextVar("progress", default=None)


@contextmanager
def loading_progress(desc: str = "loading images"):
    """Show a progress bar while the loaders inside decode images (the CLI uses it).

    Examples
    --------
    >>> from sklearn_fkd.datasets import load_youtube_faces, loading_progress
    >>> with loading_progress("YouTube train"):  # doctest: +SKIP
    ...     faces = load_youtube_faces("train")
    """
    token = _PROGRESS.set(desc)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def read_images(
    paths: Sequence[str | os.PathLike],
    as_gray: bool = False,
    n_threads: int | None = None,
    errors: str = "raise",
) -> list:
    """Decode many images in parallel threads (JPEG decoding releases the GIL), with a
    progress bar inside :func:`loading_progress`.

    ``errors="return"`` puts the ``ValueError`` of an unreadable image in its place in
    the list instead of raising it (the CLI skips such photos and names them).
    """
    from tqdm.auto import tqdm

    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return', got {errors!r}")

    def read(path):
        try:
            return read_image(path, as_gray)
        except ValueError as exc:
            if errors == "raise":
                raise
            return exc

    n_threads = n_threads or min(8, (os.cpu_count() or 1) + 1)
    desc = _PROGRESS.get()
    with ThreadPoolExecutor(n_threads) as pool:
        decoded = pool.map(read, paths)
        return list(tqdm(decoded, total=len(paths), desc=desc, unit="img", disable=desc is None))


def find_image(stem_path: Path) -> Path:
    """The image file beside an annotation file (same stem, any image suffix)."""
    for suffix in IMAGE_SUFFIXES:
        for cand in (stem_path.with_suffix(suffix), stem_path.with_suffix(suffix.upper())):
            if cand.is_file():
                return cand
    raise FileNotFoundError(
        f"no image found for annotation {stem_path}: looked for {stem_path.stem} with "
        f"suffixes {', '.join(IMAGE_SUFFIXES)}"
    )


def listed_image_paths(folder: Path, names: list[str], listed_in) -> list[Path]:
    """The paths of the images a keypoint CSV names, all of which must exist.

    Raises
    ------
    FileNotFoundError
        Counting the missing images, naming the first and the CSV (``listed_in``).
    """
    paths = [folder / n for n in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} images listed in {listed_in} are missing, e.g. {missing[0]}"
        )
    return paths


def numeric_columns(frame: pd.DataFrame, path) -> np.ndarray:
    """The cells of a CSV table as float64; empty cells are missing (NaN).

    Raises
    ------
    ValueError
        Naming the file, line (header = line 1) and column of a non-numeric cell.
    """
    values = frame.replace("", np.nan)
    numeric = values.apply(pd.to_numeric, errors="coerce")
    bad = (numeric.isna() & values.notna()).to_numpy()
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{path}, line {row + 2}: non-numeric value {values.iat[row, col]!r} in "
            f"column {frame.columns[col]!r}"
        )
    return numeric.to_numpy(dtype=np.float64)
