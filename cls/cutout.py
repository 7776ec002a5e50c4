"""Cutout (DeVries & Taylor 2017) as the CIFAR-10 record runs train with it: one square per image set to 0, on a
whole batch at once, on its device.

The squares lie wholly inside the image (cifar10-fast draws the corner uniformly in [0, size − hole]); the inputs are
already normalised, so 0 is the data set's mean colour.
"""

import torch

from backbones.errors import ArgError
from backbones.registry import MODELS


def cutout(inputs: torch.Tensor, size: int) -> torch.Tensor:
    """N×C×H×W `inputs` with one size×size square of each image, at a random place inside it, set to 0."""
    n, _, h, w = inputs.shape
    if not 0 < size <= min(h, w):
        raise ArgError(f'cutout: a {size}-px square does not fit a {h}×{w} image')
    top = torch.randint(0, h - size + 1, (n, 1, 1), device=inputs.device)
    left = torch.randint(0, w - size + 1, (n, 1, 1), device=inputs.device)
    rows = torch.arange(h, device=inputs.device).view(1, h, 1)
    cols = torch.arange(w, device=inputs.device).view(1, 1, w)
    hole = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)  # N×H×W
    return inputs.masked_fill(hole.unsqueeze(1), 0)


@MODELS.register_module()
class Cutout:
    """Batch augment (`type='tricks.Cutout'`, in the data preprocessor's `batch_augments`): the page uses 8×8."""

    def __init__(self, size: int = 8):
        if size <= 0:
            raise ArgError(f'Cutout: size must be > 0, got {size}')
        self.size = size

    def __call__(self, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return cutout(inputs, self.size), targets

    def trick_card(self) -> dict:
        return dict(type='Cutout', size=self.size)
