"""Normalisation layers from OpenMMLab-style `norm_cfg` dicts, without depending on mmcv."""

import torch.nn as nn

_NORMS = {
    'BN': nn.BatchNorm2d,
    'BN2d': nn.BatchNorm2d,
    'SyncBN': nn.SyncBatchNorm,
    'GN': nn.GroupNorm,
}


def build_norm(cfg: dict, channels: int) -> nn.Module:
    """`dict(type='BN'|'SyncBN'|'GN', requires_grad=True, **layer kwargs)` → a norm layer over `channels`."""
    cfg = dict(cfg)
    cfg.pop('_scope_', None)  # mmengine's mark on dicts read from an `mmseg::`/`mmdet::` base
    kind = cfg.pop('type', None)
    if kind not in _NORMS:
        raise ValueError(f'norm_cfg: unknown type {kind!r}; expected one of {", ".join(_NORMS)}')
    requires_grad = cfg.pop('requires_grad', True)
    if kind == 'GN':
        if 'num_groups' not in cfg:
            raise ValueError("norm_cfg: type 'GN' needs num_groups")
        layer = nn.GroupNorm(num_channels=channels, **cfg)
    else:
        layer = _NORMS[kind](channels, **cfg)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return layer
