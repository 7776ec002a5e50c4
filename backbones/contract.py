"""The contract every backbone family meets (`ResNet`, `NFNet`, `ResNet9`), so that our classifier, mmdet's detectors
and mmseg's segmentors build any of them unchanged; `tests/test_backbones.py` sweeps it over every preset.

- `forward(x)` returns a tuple of N×C×H×W feature maps, one per stage in `out_indices`, in stage order.
- Attributes: `out_indices` (sorted stage indices), `out_channels` and `out_strides` (C, and input size / map size,
  of each returned map), `frozen_stages`.
- Arguments, in OpenMMLab's spelling: `out_indices` (negative ones count from the last stage), `frozen_stages` (-1:
  none; 0: the stem; k: the stem and stages 1..k, in eval mode with no gradients), `init_cfg`, `pretrained` (mmdet's
  deprecated spelling of init_cfg); families with BatchNorm also `norm_cfg` and `norm_eval`.
- `arch_config()`: the keys that say what the weights mean (an export carries them; the weights check compares
  them); `trick_card()`: what the backbone contributes to the trick card (`config` plus its own tricks).

The helpers below are the argument conventions the families share.
"""

import warnings
from collections.abc import Sequence

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from .errors import ArgTypeError, BackboneArgError


def normalise_out_indices(out_indices: int | Sequence[int], num_stages: int) -> tuple[int, ...]:
    """Sorted stage indices; negative ones count from the last stage."""
    if isinstance(out_indices, int):
        out_indices = (out_indices,)
    bad = [i for i in out_indices if not -num_stages <= i < num_stages]
    if bad:
        raise BackboneArgError(
            f'out_indices {tuple(out_indices)}: {bad[0]} is out of range for '
            f'num_stages={num_stages} (valid: 0..{num_stages - 1} or negative)'
        )
    return tuple(sorted({i % num_stages for i in out_indices}))


def check_frozen_stages(frozen_stages: int, num_stages: int) -> int:
    if not -1 <= frozen_stages <= num_stages:
        raise BackboneArgError(f'frozen_stages={frozen_stages!r} must be in -1..{num_stages}')
    return frozen_stages


def freeze(modules: list[nn.Module]) -> None:
    """Frozen stages: eval mode (BatchNorm statistics stay) and no gradients."""
    for module in modules:
        module.eval()
        module.requires_grad_(False)


def eval_batch_norms(module: nn.Module) -> None:
    """`norm_eval`: every BatchNorm of `module` in eval mode, so its statistics stay those it was loaded with."""
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            m.eval()


def init_cfg_with_pretrained(pretrained: str | None, init_cfg: dict | list | None) -> dict | list | None:
    """mmdet/mmseg's deprecated `pretrained=` → `init_cfg`. mmseg's segmentors still pass their model-level
    `pretrained` down to the backbone, so stock configs need it accepted."""
    if pretrained is None:
        return init_cfg
    if not isinstance(pretrained, str):
        raise ArgTypeError(f'pretrained must be a str or None, got {type(pretrained).__name__}')
    if init_cfg is not None:
        raise BackboneArgError(f'pretrained={pretrained!r} and init_cfg are both set; keep only init_cfg')
    warnings.warn(
        'pretrained= is deprecated, use init_cfg=dict(type="Pretrained", checkpoint=...)',
        DeprecationWarning,
        stacklevel=3,
    )
    return dict(type='Pretrained', checkpoint=pretrained)
