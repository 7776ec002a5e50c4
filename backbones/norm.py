"""Normalisation layers from OpenMMLab-style `norm_cfg` dicts, without depending on mmcv."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import ArgError


class GhostBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm whose training statistics come from `num_splits` equal slices of the batch ("ghost batch norm",
    Hoffer et al. 2017; cifar10-fast's final notebook normalises a 512 batch in 16 slices of 32): each slice is
    normalised by its own mean and variance, a regulariser that also keeps the statistics of small-batch training.

    The running statistics are those of `nn.BatchNorm2d` (one mean and variance per channel, so its state dict loads
    into a plain BatchNorm2d and det/seg fine-tune it as one): every step moves them, with `momentum`, towards the
    average of the slices' statistics — the same numbers as cifar10-fast's one running copy per slice, averaged when
    it switches to eval. Evaluation is plain BatchNorm2d.
    """

    def __init__(self, num_features: int, num_splits: int = 16, **kwargs):
        super().__init__(num_features, **kwargs)
        if int(num_splits) < 1:
            raise ArgError(f'norm_cfg: GhostBN num_splits={num_splits!r} must be ≥ 1')
        self.num_splits = int(num_splits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.num_splits == 1:
            return super().forward(x)
        if x.shape[0] % self.num_splits:
            raise ArgError(f'GhostBN: batch of {x.shape[0]} does not split into {self.num_splits} equal slices')
        # Each slice's batch statistics land in one row of these (momentum 1 copies them); a slice of the batch keeps
        # the memory format (channels_last stays channels_last), and native batch_norm runs on it forward and back.
        dtype = self.running_mean.dtype if self.track_running_stats else torch.float32
        means = x.new_zeros(self.num_splits, self.num_features, dtype=dtype)
        variances = torch.ones_like(means)
        out = torch.cat([F.batch_norm(piece, means[i], variances[i], self.weight, self.bias, True, 1.0, self.eps)
                         for i, piece in enumerate(x.chunk(self.num_splits))])  # fmt: skip
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(means.mean(0), momentum)
                self.running_var.lerp_(variances.mean(0), momentum)
        return out


_NORMS = {
    'BN': nn.BatchNorm2d,
    'BN2d': nn.BatchNorm2d,
    'GhostBN': GhostBatchNorm2d,
    'SyncBN': nn.SyncBatchNorm,
    'GN': nn.GroupNorm,
}


def build_norm(cfg: dict, channels: int) -> nn.Module:
    """`dict(type='BN'|'GhostBN'|'SyncBN'|'GN', requires_grad=True, freeze_scale=False, **layer kwargs)` → a norm
    layer over `channels`. `requires_grad=False` freezes scale and shift (OpenMMLab's meaning); `freeze_scale=True`
    only the scale γ, at its initial value (cifar10-fast's "frozen BN scales": γ stays 1, the shift β learns)."""
    cfg = dict(cfg)
    cfg.pop('_scope_', None)  # mmengine's mark on dicts read from an `mmseg::`/`mmdet::` base
    kind = cfg.pop('type', None)
    if kind not in _NORMS:
        raise ArgError(f'norm_cfg: unknown type {kind!r}; expected one of {", ".join(_NORMS)}')
    requires_grad = cfg.pop('requires_grad', True)
    freeze_scale = cfg.pop('freeze_scale', False)
    if kind == 'GN':
        if 'num_groups' not in cfg:
            raise ArgError("norm_cfg: type 'GN' needs num_groups")
        layer = nn.GroupNorm(num_channels=channels, **cfg)
    else:
        layer = _NORMS[kind](channels, **cfg)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    if freeze_scale and layer.weight is not None:
        layer.weight.requires_grad = False
    return layer
