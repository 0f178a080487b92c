"""skorch callbacks of the library."""

from __future__ import annotations

import math

import torch
from skorch.callbacks import Callback

__all__ = [
    "EpochProgressBar",
    "FreezeEncoder",
    "HeldOutScore",
    "NonFiniteLossError",
    "StopOnNonFiniteLoss",
    "WeightAveraging",
]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; training stopped."""


class StopOnNonFiniteLoss(Callback):
    """Stop training with :class:`NonFiniteLossError`, naming the epoch, when an epoch's
    training loss is NaN or infinite (every estimator has it by default): fitting on
    would only produce NaN points."""

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1].get("train_loss")
        if loss is not None and not math.isfinite(loss):
            raise NonFiniteLossError(
                f"the training loss became {loss} at epoch {len(net.history)}: the "
                "network's weights are no longer usable. Lower lr, check that y holds pixel "
                "coordinates of these images, or start from other weights"
            )


class EpochProgressBar(Callback):
    """A tqdm bar that advances once per epoch and shows the last training loss.

    Parameters
    ----------
    desc : str, default="training"
        Label of the bar.
    """

    def __init__(self, desc: str = "training"):
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=net.max_epochs, desc=self.desc, unit="epoch", leave=True)

    def on_epoch_end(self, net, **kwargs):
        self.bar_.set_postfix(loss=f"{net.history[-1, 'train_loss']:.4g}")
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
        del self.bar_

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("bar_", None)  # a bar (and its stream) is not picklable
        return state


class HeldOutScore(Callback):
    """Score held-out data after every epoch and record it in ``history``.

    Unlike skorch's ``EpochScoring``, which scores the network's own validation split in
    the network's (normalised) units, this calls any ``score()`` the caller built, e.g.
    a scorer on a whole :class:`~sklearn_fkd.pipeline.KeypointPipeline` whose final step
    is this network, so the score is in the caller's pixels.

    Parameters
    ----------
    score : callable ``() -> float``
        Computes the score (greater is better) with the network as it is now.
    name : str, default="held_out_score"
        The ``history`` key.
    """

    def __init__(self, score, name: str = "held_out_score"):
        self.score = score
        self.name = name

    def on_epoch_end(self, net, **kwargs):
        net.history.record(self.name, float(self.score()))


class FreezeEncoder(Callback):
    """Train only the network's head for the first ``epochs`` epochs (fine-tuning).

    The head is the last layer (the module's ``HEAD`` prefixes); the rest, the encoder
    a pretrained network brings, gets no gradient until then, so the new head does not
    send large random gradients through it.

    Parameters
    ----------
    epochs : int
        Epochs with the encoder frozen.
    """

    def __init__(self, epochs: int):
        self.epochs = epochs

    def _encoder(self, net):
        head = tuple(getattr(net.module_, "HEAD", ("head",)))
        return [
            p
            for name, p in net.module_.named_parameters()
            if not any(name == h or name.startswith(h + ".") for h in head)
        ]

    def on_train_begin(self, net, **kwargs):
        if len(net.history) < self.epochs:
            for p in self._encoder(net):
                p.requires_grad_(False)

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) >= self.epochs:
            for p in self._encoder(net):
                p.requires_grad_(True)

    def on_train_end(self, net, **kwargs):
        for p in self._encoder(net):
            p.requires_grad_(True)


class WeightAveraging(Callback):
    """Train with an exponential moving average (EMA) of the weights and end with it.

    After every training batch the average moves towards the network's weights (and
    floating-point buffers such as batch-norm statistics) by ``1 - decay``; at the end
    of ``fit`` the averaged weights replace the network's. Early on the decay is
    ``min(decay, (1 + t) / (10 + t))`` after ``t`` batches, so the average does not
    remember the random start. Scores recorded during training (``HeldOutScore``) see
    the raw weights, not the average.

    Parameters
    ----------
    decay : float, default=0.999
        In (0, 1): the average spans about ``1 / (1 - decay)`` batches.

    Examples
    --------
    >>> from sklearn_fkd import HeatmapKeypointEstimator
    >>> from sklearn_fkd.callbacks import WeightAveraging
    >>> est = HeatmapKeypointEstimator(callbacks=[("ema", WeightAveraging(0.998))])
    """

    def __init__(self, decay: float = 0.999):
        self.decay = decay

    def on_train_begin(self, net, **kwargs):
        if not 0 < self.decay < 1:
            raise ValueError(f"WeightAveraging decay must be in (0, 1), got {self.decay!r}")
        state = net.module_.state_dict()
        self.average_ = {name: value.detach().clone() for name, value in state.items()}
        self.steps_ = 0

    @torch.no_grad()
    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        self.steps_ += 1
        decay = min(self.decay, (1 + self.steps_) / (10 + self.steps_))
        for name, value in net.module_.state_dict().items():
            average = self.average_[name]
            if average.is_floating_point():
                average.lerp_(value.detach(), 1.0 - decay)
            else:
                average.copy_(value)

    def on_train_end(self, net, **kwargs):
        net.module_.load_state_dict(self.average_)
        del self.average_
