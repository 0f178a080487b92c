"""Where a fitted network runs at CPU inference: PyTorch, or onnxruntime where it is
installed (``pip install "sklearn-fkd[onnx]"``), and on how many threads.

onnxruntime runs the small convolutions of one face several times faster than PyTorch's
eager mode on a CPU (it plans the graph once: no per-layer Python, no per-call
allocation). The network, with BatchNorm folded in and followed by the readout's
decoding (:class:`~sklearn_fkd.estimators.readout.ReadOutNetwork`), is exported to ONNX
the first time it predicts (TorchScript-based exporter: no ``onnx`` package needed),
checked against PyTorch on that first batch, and the session is kept until the weights
change. The exported graph is also written to a cache folder
(:func:`~sklearn_fkd.utils.cache.cache_dir`), named by a hash of the weights and of what the graph
computes, so that the next process with the same model skips the export (a fraction of
a second to a second); a graph read from there is checked against PyTorch in the same
way, on that first batch only, so the folder is trusted as the user's own files are
(onnxruntime runs no Python from a graph; set ``SKLEARN_FKD_CACHE`` to an empty string
to keep no graphs). Training always runs in PyTorch.

A few images (one face, a video frame's faces) run on one thread: their operations are
too small to gain from a second one, and a thread that waits for another at every
operation is what made one face cost ten times more on a machine whose other core was
busy (``CHANGES.md``). Larger batches use every
thread PyTorch is given (``torch.set_num_threads``).
"""

from __future__ import annotations

import contextvars
import hashlib
import importlib.util
import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..utils.cache import cache_dir, read_cached, write_cached
from ..utils.optional import import_extra

__all__ = [
    "BACKENDS",
    "SMALL_BATCH",
    "OnnxNetwork",
    "inference_network",
    "onnxruntime_installed",
    "threads_for",
]

#: the values of the estimators' ``backend`` parameter
BACKENDS = ("auto", "torch", "onnxruntime")
#: batches of at most this many images run on one thread
SMALL_BATCH = 4

#: PyTorch's thread count outside :func:`threads_for` (what large batches get)
_OUTER_THREADS: contextvars.ContextVar = contextvars.ContextVar("outer_threads", default=None)

#: largest |difference| allowed between the exported and the PyTorch network's outputs,
#: relative to the outputs' largest magnitude (float32 rounding is about 1e-6)
_TOLERANCE = 1e-3
#: a cached graph larger than this is not read
_MAX_GRAPH_BYTES = 512 * 2**20


@contextmanager
def threads_for(n_images: int) -> Iterator[None]:
    """PyTorch on one thread while a batch of at most :data:`SMALL_BATCH` images runs
    (the thread count is restored after)."""
    previous = torch.get_num_threads()
    if n_images > SMALL_BATCH or previous == 1:
        yield
        return
    torch.set_num_threads(1)
    token = _OUTER_THREADS.set(previous)
    try:
        yield
    finally:
        _OUTER_THREADS.reset(token)
        torch.set_num_threads(previous)


def onnxruntime_installed() -> bool:
    """Whether ``import onnxruntime`` would work, without importing it."""
    return importlib.util.find_spec("onnxruntime") is not None


class OnnxNetwork:
    """An evaluation-mode network exported to ONNX and run by onnxruntime.

    Parameters
    ----------
    module : torch.nn.Module
        In evaluation mode, on the CPU, float32 (BatchNorm already folded).
    example : Tensor of shape (B, C, H, W)
        A batch of its input: traces the graph (any batch size is accepted later) and
        checks it against ``module``.
    threads : int
        onnxruntime's intra-op threads for batches of more than :data:`SMALL_BATCH`
        images (PyTorch's ``torch.get_num_threads()``); smaller ones run on one.

    Raises
    ------
    RuntimeError
        When the exported graph's outputs differ from the module's on ``example``.
    """

    def __init__(self, module: nn.Module, example: torch.Tensor, threads: int, key=None):
        self._ort = import_extra("onnxruntime", "backend='onnxruntime'")
        example = example.float().contiguous()
        with torch.no_grad():
            expected = module(example).float().numpy()
        cached = _cache_file(module, example, key, self._ort.__version__)
        graph = read_cached(cached, _MAX_GRAPH_BYTES)
        if graph is not None:
            try:
                self._open(graph, threads, example, expected)
                return
            except Exception:  # a damaged or foreign file: export again
                pass
        with torch.no_grad():
            graph = _export(module, example)
        self._open(graph, threads, example, expected)
        write_cached(cached, graph)

    def _open(self, graph: bytes, threads: int, example: torch.Tensor, expected) -> None:
        """Sessions on ``graph``, checked to give ``expected`` on ``example``."""
        ort = self._ort

        def session(n_threads: int):
            options = ort.SessionOptions()
            options.intra_op_num_threads = n_threads
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # no busy-waiting between operations: it steals a busy machine's cores
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

        self.small = session(1)
        self.large = self.small if threads <= 1 else session(int(threads))
        got = self._run(example)
        scale = max(1.0, float(np.abs(expected).max()))
        error = float(np.abs(got - expected).max()) if got.shape == expected.shape else np.inf
        if not error <= _TOLERANCE * scale:
            raise RuntimeError(
                f"the network exported to onnxruntime differs from PyTorch by {error:.3g}"
            )

    def _run(self, x: torch.Tensor) -> np.ndarray:
        session = self.small if len(x) <= SMALL_BATCH else self.large
        return session.run(None, {"x": x.float().contiguous().numpy()})[0]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self._run(x))


def _export(module: nn.Module, example: torch.Tensor) -> bytes:
    """The ONNX graph of ``module`` traced on ``example``, any batch size."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on tracing
        torch.onnx.export(
            module,
            (example,),
            buffer,
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    return buffer.getvalue()


def _cache_file(module: nn.Module, example: torch.Tensor, key, ort_version: str) -> Path | None:
    """The cache file of ``module``'s graph: a SHA-256 of its weights, its structure,
    ``key`` (what else it computes), the input's shape and the library versions."""
    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256()
    versions = (torch.__version__, ort_version, repr(key), tuple(example.shape[1:]))
    digest.update(repr((versions, repr(module))).encode())
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return folder / f"{digest.hexdigest()}.onnx"


def inference_network(
    network: nn.Module, backend: str, batch: torch.Tensor, weights: nn.Module, key
):
    """What runs ``network`` (an evaluation-mode CPU network) for ``backend``.

    Parameters
    ----------
    network : torch.nn.Module
    backend : {"auto", "torch", "onnxruntime"}
        ``"auto"``: onnxruntime when it is installed (PyTorch when the export fails,
        with a warning), else PyTorch; ``"onnxruntime"``: it, or an ImportError naming
        the extra.
    batch : Tensor of shape (B, C, H, W)
        The batch about to run (its first images trace the graph).
    weights : torch.nn.Module
        The module whose weights ``network`` computes with: the session is kept on it
        (and goes with it when the weights change and it is rebuilt).
    key : hashable
        What else decides what ``network`` computes (its readout): one session per key.

    Returns
    -------
    callable
        Tensor ``(B, C, H, W)`` -> the network's output, float32.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "torch" or (backend == "auto" and not onnxruntime_installed()):
        return network
    threads = _OUTER_THREADS.get() or torch.get_num_threads()
    # kept on the module itself: nothing outside it holds it alive
    sessions = weights.__dict__.setdefault("_onnx_sessions", {})
    if (key, threads) not in sessions:
        try:
            sessions[key, threads] = OnnxNetwork(network, batch[:2], threads, key)
        except Exception as exc:  # an operator the exporter or onnxruntime lacks
            if backend == "onnxruntime":
                raise
            warnings.warn(
                f"onnxruntime could not run this network ({exc}); predicting with "
                "PyTorch (backend='torch' silences this)",
                UserWarning,
                stacklevel=3,
            )
            sessions[key, threads] = None
    return sessions[key, threads] or network
