"""skorch callbacks of the library."""

from __future__ import annotations

from skorch.callbacks import Callback

__all__ = ["EpochProgressBar"]


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
