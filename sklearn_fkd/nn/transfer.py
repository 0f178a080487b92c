"""Starting a network from another one's weights (fine-tuning onto new points)."""

from __future__ import annotations

import torch
from torch import nn

from .heatmaps import soft_argmax


class MapsToCoordinates(nn.Module):
    """A network that outputs one logit map per point, read out as coordinates by their
    soft-argmax (integral regression): what a coordinate regressor needs from a
    heatmap network it starts from.

    Notes
    -----
    Shapes: input ``(B, C, H, W)`` -> ``(B, 2K)`` in ``[-1, 1]`` coordinates.
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.HEAD = tuple(f"net.{p}" for p in getattr(net, "HEAD", ("head",)))

    def start_from_mean_shape(self, mean: torch.Tensor, spread: torch.Tensor) -> None:
        self.net.start_from_mean_shape(mean, spread)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return soft_argmax(self.net(x)).flatten(1)


@torch.no_grad()
def transfer_weights(
    source: dict[str, torch.Tensor],
    target: nn.Module,
    head: tuple[str, ...],
    head_groups: list[list[int]] | None = None,
) -> dict[str, list[str]]:
    """Copy the weights of ``source`` (a state dict) into ``target`` where they fit.

    Every tensor whose name and shape match is copied, except the head (the
    parameters under ``head`` prefixes) when the points differ. With ``head_groups``
    (one list of source point indices per target point, e.g. from
    :func:`~sklearn_fkd.keypoints.convert_keypoints`'s table), each head row starts as
    the mean of those source rows. A first convolution whose input channels differ is
    adapted: grey -> colour repeats the filter over the channels (divided by their
    number), colour -> grey sums it. The mean-shape prior and the fit state are never
    copied (they belong to the new data).

    Returns
    -------
    dict
        ``copied``, ``adapted`` (channels or head rows) and ``kept`` (the target's own
        initialisation) tensor names.
    """
    report: dict[str, list[str]] = {"copied": [], "adapted": [], "kept": []}
    own = target.state_dict()
    first_conv = next(
        (name + ".weight" for name, m in target.named_modules() if isinstance(m, nn.Conv2d)),
        None,
    )
    for name, tensor in own.items():
        theirs = source.get(name)
        in_head = any(name.startswith(p + ".") or name == p for p in head)
        if theirs is None or name.startswith(("prior.", "fit_state.")) or ".prior." in name:
            report["kept"].append(name)
        elif theirs.shape == tensor.shape and not (in_head and head_groups is not None):
            tensor.copy_(theirs)
            report["copied"].append(name)
        elif in_head and head_groups is not None and theirs.shape[1:] == tensor.shape[1:]:
            for k, group in enumerate(head_groups):
                tensor[k] = theirs[list(group)].mean(dim=0)
            report["adapted"].append(name)
        elif (
            name == first_conv
            and theirs.shape[0] == tensor.shape[0]
            and theirs.shape[2:] == tensor.shape[2:]
        ):
            c_in = tensor.shape[1]
            if theirs.shape[1] == 1:
                tensor.copy_(theirs.repeat(1, c_in, 1, 1) / c_in)
            else:
                tensor.copy_(theirs.sum(dim=1, keepdim=True).repeat(1, c_in, 1, 1) / c_in)
            report["adapted"].append(name)
        else:
            report["kept"].append(name)
    return report
