"""Random crop (from a reflect-padded image) and horizontal flip of a whole batch at once, on its device.

CIFAR-style augmentation (as in the cifar10-fast record runs) without a per-sample Python pipeline: with the images
cached as one uint8 tensor, a 2-core CPU otherwise spends more time in per-sample transforms than in the network.
"""

import torch
import torch.nn.functional as F

from backbones.errors import ArgError
from backbones.registry import MODELS


def random_crop_flip(inputs: torch.Tensor, padding: int) -> torch.Tensor:
    """Each image of N×C×H×W `inputs` cropped at a random offset of its reflect-padded copy and flipped with p = ½."""
    n, _, h, w = inputs.shape
    padded = F.pad(inputs, (padding,) * 4, mode='reflect')
    offsets = torch.randint(0, 2 * padding + 1, (2, n, 1), device=inputs.device)
    rows = offsets[0] + torch.arange(h, device=inputs.device)  # N×H
    cols = offsets[1] + torch.arange(w, device=inputs.device)  # N×W
    flip = torch.rand(n, 1, device=inputs.device) < 0.5
    cols = torch.where(flip, cols.flip(1), cols)
    batch = torch.arange(n, device=inputs.device)[:, None, None]
    # Advanced indices around the channel slice put their broadcast dims first: N×H×W×C, i.e. NCHW channels_last.
    return padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


@MODELS.register_module()
class RandomCropFlip:
    """Batch augment (`type='tricks.RandomCropFlip'`, in the data preprocessor's `batch_augments`)."""

    def __init__(self, padding: int = 4):
        if padding < 0:
            raise ArgError(f'RandomCropFlip: padding must be >= 0, got {padding}')
        self.padding = padding

    def __call__(self, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return random_crop_flip(inputs, self.padding), targets

    def trick_card(self) -> dict:
        return dict(type='RandomCropFlip', padding=self.padding)
