"""The readout (sklearn_fkd.estimators.readout): pixels <-> network units, flip-averaging,
the offset; predict and the ONNX export read out through it."""

import numpy as np
import torch

from sklearn_fkd.estimators.readout import KeypointReadout


def _identity(outputs):
    return outputs


def test_encode_and_to_pixels_round_trip_at_the_image_edges():
    readout = KeypointReadout(_identity, (30, 40))  # H, W
    y = np.array([[-0.5, -0.5, 39.5, 29.5, 0.0, 0.0, 12.25, 7.75]])
    u = readout.encode(y)
    np.testing.assert_allclose(u[0, :4], [-1, -1, 1, 1])  # the outer pixel edges
    np.testing.assert_allclose(u[0, 4:6], [-1 + 1 / 40, -1 + 1 / 30])  # first pixel centre
    back = readout.to_pixels(torch.from_numpy(u)).reshape(1, -1).numpy()
    np.testing.assert_allclose(back, y, atol=1e-12)


def test_offset_is_subtracted_in_pixels():
    readout = KeypointReadout(_identity, (10, 10), offset=(1.5, -0.25))
    points = readout(torch.zeros(1, 4, dtype=torch.float64))  # the image centre, twice
    np.testing.assert_allclose(points.numpy(), [[[3.0, 4.75], [3.0, 4.75]]])


def test_mirror_images_are_unmirrored_and_averaged():
    # two points that swap when mirrored; the mirror image's outputs predict them
    # exactly mirrored, so the average equals the plain prediction
    perm = np.array([1, 0])
    readout = KeypointReadout(_identity, (8, 8), flip_permutation=perm)
    plain = torch.tensor([[-0.5, 0.1, 0.5, 0.2]])
    mirrored = torch.tensor([[-0.5, 0.2, 0.5, 0.1]])  # x negated, the two swapped
    coords = readout.coordinates(plain, mirrored)
    np.testing.assert_allclose(coords.numpy(), plain.numpy(), atol=1e-7)
    shifted = readout.coordinates(plain, mirrored + torch.tensor([0.2, 0, 0.2, 0]))
    np.testing.assert_allclose(shifted.numpy(), (plain - torch.tensor([0.1, 0, 0.1, 0])).numpy())
