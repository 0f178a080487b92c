"""Inference-time folding of BatchNorm into the preceding convolution."""

from __future__ import annotations

import copy
import weakref

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _tensors(module: nn.Module) -> list:
    return [*module.parameters(), *module.buffers()]


def _state_versions(tensors: list) -> tuple:
    """Changes whenever a parameter or buffer is modified in place (optimizer steps,
    ``load_state_dict``), replaced (``.data =``) or moved to another device, so a cached
    copy is never stale."""
    return tuple((t._version, t.data_ptr(), t.device) for t in tensors)


def fused_for_inference(module: nn.Module) -> nn.Module:
    """An eval-mode copy of ``module`` in which every ``Conv2d`` directly followed by a
    ``BatchNorm2d`` inside an ``nn.Sequential`` is replaced by one equivalent convolution.

    Saves the BatchNorm pass at inference. The copy is cached per module and rebuilt
    when the module's weights change (in place, replaced or moved; a submodule swapped
    in after the first call is not seen). The original module is not modified.
    """
    hit = _CACHE.get(module)
    # the module's tensors are listed once per cached copy: walking its submodules at
    # every call was a large share of a one-face prediction
    if hit is not None and hit[0] == _state_versions(hit[2]):
        return hit[1]
    tensors = _tensors(module)
    fused = copy.deepcopy(module).eval()
    for seq in [m for m in fused.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            if isinstance(seq[i], nn.Conv2d) and isinstance(seq[i + 1], nn.BatchNorm2d):
                seq[i] = fuse_conv_bn_eval(seq[i], seq[i + 1])
                seq[i + 1] = nn.Identity()
    _CACHE[module] = (_state_versions(tensors), fused, tensors)
    return fused
