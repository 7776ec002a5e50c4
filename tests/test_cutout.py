"""Cutout against its definition: exactly one size×size square of each image set to 0, wholly inside the image, at a
place drawn uniformly; everything else and the targets untouched."""

import pytest
import torch

from backbones.registry import MODELS
from cls.cutout import cutout

pytestmark = pytest.mark.cpu_kind  # kernels, tolerances or precision: run on both CPU kinds (test_cpu_kinds.py)


def holes(inputs: torch.Tensor, size: int) -> torch.Tensor:
    """(top, left) of each image's zeroed square, checking that it is one square of `size` in every channel."""
    corners = []
    for image in (inputs == 0).all(dim=0, keepdim=False) if inputs.ndim == 3 else (inputs == 0).all(dim=1):
        rows, cols = image.any(dim=1).nonzero().flatten(), image.any(dim=0).nonzero().flatten()
        assert len(rows) == len(cols) == size and int(image.sum()) == size * size
        assert (rows.diff() == 1).all() and (cols.diff() == 1).all()  # contiguous: one square
        corners.append((int(rows[0]), int(cols[0])))
    return torch.tensor(corners)


def test_one_square_per_image_inside_it_and_nothing_else_changed():
    torch.manual_seed(0)
    inputs = torch.rand(64, 3, 16, 12) + 1  # no zero before cutout
    out = cutout(inputs, 8)
    corners = holes(out, 8)
    assert (corners[:, 0] <= 16 - 8).all() and (corners[:, 1] <= 12 - 8).all()
    kept = out != 0
    assert torch.equal(out[kept], inputs[kept])


def test_the_square_is_placed_uniformly():
    torch.manual_seed(1)
    corners = holes(cutout(torch.ones(4000, 1, 16, 16), 8), 8)
    for axis in (0, 1):  # uniform on 0..8: every place drawn, mean 4 (its standard error here is 0.04)
        assert set(corners[:, axis].tolist()) == set(range(9))
        assert abs(corners[:, axis].float().mean().item() - 4.0) < 0.2


def test_registered_augment_keeps_the_targets_and_refuses_a_square_that_does_not_fit():
    augment = MODELS.build(dict(type='tricks.Cutout', size=8))
    targets = torch.eye(4)
    _, out_targets = augment(torch.ones(4, 3, 32, 32), targets)
    assert out_targets is targets and augment.trick_card() == dict(type='Cutout', size=8)
    with pytest.raises(ValueError, match='a 8-px square does not fit a 4×4 image'):
        augment(torch.ones(1, 3, 4, 4), targets[:1])
