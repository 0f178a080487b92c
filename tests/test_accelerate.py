"""skorch's Hugging Face Accelerate mixin on the library's estimators (CPU, one
process), and the sharded training batches that data-parallel processes draw."""

import numpy as np
import pytest
import torch

from sklearn_fkd import FaceKeypointRegressor
from sklearn_fkd.estimators.dataset import BatchIterator, KeypointDataset

SMALL = dict(channels=(8, 16, 32), max_epochs=3, random_state=0)


def test_accelerate_mixin_trains_like_the_plain_estimator(small_imm):
    accelerate = pytest.importorskip("accelerate")
    from skorch.hf import AccelerateMixin

    class AcceleratedRegressor(AccelerateMixin, FaceKeypointRegressor):
        pass

    X, y, _ = small_imm
    est = AcceleratedRegressor(accelerator=accelerate.Accelerator(cpu=True), device=None, **SMALL)
    est.fit(X[:48], y[:48])
    plain = FaceKeypointRegressor(**SMALL).fit(X[:48], y[:48])
    assert est.device_ == "cpu" and est.augment_ is not None
    # same seed, same augmented batches, same steps: the same network
    assert est.history[:, "train_loss"] == pytest.approx(plain.history[:, "train_loss"])
    np.testing.assert_allclose(est.predict(X[48:60]), plain.predict(X[48:60]), atol=1e-5)


def test_training_batches_are_disjoint_equal_shards_per_process():
    X = torch.arange(103).view(103, 1, 1, 1).float()
    dataset = KeypointDataset(X, torch.zeros(103, 2))
    seen = []
    for index in range(3):
        torch.manual_seed(0)  # every process shuffles the same way
        iterator = BatchIterator(dataset, batch_size=8, shuffle=True, shard=(index, 3))
        batches = [xb.flatten() for xb, _ in iterator]
        assert len(batches) == len(iterator) == 5  # 34 samples each: 4 batches of 8 and 2
        seen.append(torch.cat(batches))
    assert all(len(s) == 34 for s in seen)
    everything = torch.cat(seen)
    assert len(set(everything.tolist())) == 102  # disjoint; one sample left out this epoch


def test_several_processes_need_a_seed(small_imm):
    class TwoProcesses:  # what the estimator reads of an accelerate.Accelerator
        num_processes, process_index, device = 2, 1, "cpu"

    X, y, _ = small_imm
    est = FaceKeypointRegressor(**{**SMALL, "random_state": None})
    est.accelerator = TwoProcesses()
    dataset = est._training_data(X[:10], y[:10], reset=True)
    with pytest.raises(ValueError, match="needs random_state"):
        est.get_iterator(dataset, training=True)
    est.random_state = 0
    assert est.get_iterator(dataset, training=True).shard == (1, 2)
    assert est.get_iterator(dataset, training=False).shard is None  # predictions: all
