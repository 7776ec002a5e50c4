"""The batch crop-and-flip equals cropping and flipping each image by hand."""

import pytest
import torch
import torch.nn.functional as F

from backbones.registry import MODELS
from cls.crop_flip import random_crop_flip

pytestmark = pytest.mark.cpu_kind  # kernels, tolerances or precision: run on both CPU kinds (test_cpu_kinds.py)


def test_every_output_is_a_crop_of_the_padded_image_flipped_or_not():
    torch.manual_seed(0)
    x = torch.randn(64, 3, 8, 8)
    out = random_crop_flip(x, padding=2)
    assert out.shape == x.shape
    padded = F.pad(x, (2,) * 4, mode='reflect')
    flips = 0
    for i in range(len(x)):
        candidates = {
            (dy, dx, flip): (
                padded[i, :, dy : dy + 8, dx : dx + 8].flip(-1) if flip else padded[i, :, dy : dy + 8, dx : dx + 8]
            )
            for dy in range(5)
            for dx in range(5)
            for flip in (False, True)
        }
        matches = [key for key, crop in candidates.items() if torch.equal(crop, out[i])]
        assert matches, i
        flips += matches[0][2]
    assert 16 < flips < 48  # p = 1/2 over 64 images


def test_offsets_cover_the_whole_padding_range():
    torch.manual_seed(1)
    x = torch.arange(16.0).view(1, 1, 4, 4).expand(400, 1, 4, 4)
    out = random_crop_flip(x, padding=1)
    assert len({tuple(o.flatten().tolist()) for o in out}) == 9 * 2  # 3×3 offsets × flip


def test_registered_augment_keeps_targets_and_checks_padding():
    augment = MODELS.build(dict(type='tricks.RandomCropFlip', padding=4))
    targets = torch.eye(3)
    _, same = augment(torch.zeros(3, 3, 32, 32), targets)
    assert same is targets
    with pytest.raises(ValueError, match='-1'):
        MODELS.build(dict(type='tricks.RandomCropFlip', padding=-1))
