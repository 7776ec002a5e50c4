"""Mixup (Zhang et al. 2018) as "Bag of Tricks" (He et al. 2019, §5.4) trains with it.

Targets are probability vectors [N, K], already smoothed when label smoothing is on, so mixing them composes with
label smoothing; the model runs its distillation teacher on the mixed inputs, so it composes with distillation too.
"""

import numpy as np
import torch

from backbones.errors import ArgError
from backbones.registry import MODELS


def mixup(
    inputs: torch.Tensor, targets: torch.Tensor, alpha: float, generator: np.random.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Mix a batch with a permutation of itself: x = λ·x + (1−λ)·x[j], y = λ·y + (1−λ)·y[j], λ ~ Beta(α, α).

    One λ per batch. Only the mixed batch is returned, as the paper trains on the mixed examples alone. λ and then
    the permutation j are drawn from `generator`, or from numpy's global state (which mmengine's `randomness.seed`
    seeds) when it is None.
    """
    if alpha <= 0:
        raise ArgError(f'mixup alpha must be > 0, got {alpha}')
    if targets.ndim != 2 or not targets.is_floating_point():
        raise ArgError(f'mixup needs float probability targets [N, K], got {targets.dtype} {tuple(targets.shape)}')
    rng = np.random if generator is None else generator
    lam = float(rng.beta(alpha, alpha))
    partner = torch.from_numpy(rng.permutation(inputs.shape[0])).to(inputs.device)
    mixed_inputs = lam * inputs + (1 - lam) * inputs[partner]
    mixed_targets = lam * targets + (1 - lam) * targets[partner]
    return mixed_inputs, mixed_targets, lam


@MODELS.register_module()
class Mixup:
    """Batch augment (`type='tricks.Mixup'`): mixup with probability `prob`, else the batch unchanged."""

    def __init__(self, alpha: float = 0.2, prob: float = 1.0):
        if alpha <= 0:
            raise ArgError(f'mixup alpha must be > 0, got {alpha}')
        if not 0 <= prob <= 1:
            raise ArgError(f'mixup prob must be in [0, 1], got {prob}')
        self.alpha = alpha
        self.prob = prob

    def __call__(self, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if np.random.random() >= self.prob:
            return inputs, targets
        mixed_inputs, mixed_targets, _ = mixup(inputs, targets, self.alpha)
        return mixed_inputs, mixed_targets

    def trick_card(self) -> dict:
        return dict(type='Mixup', alpha=self.alpha, prob=self.prob)
