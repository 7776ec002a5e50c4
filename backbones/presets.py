"""Named backbone configs, timm-style: `resnet50d` is ResNet-50 variant d. Tests and tools sweep all of them."""

import copy

from .errors import ArgError
from .registry import MODELS
from .resnet import VARIANTS, BasicBlock, ResNet

PRESETS: dict[str, dict] = {
    f'resnet{depth}{variant}': dict(type='tricks.ResNet', depth=depth, variant=variant)
    for depth, (block, _) in ResNet.arch_settings.items()
    for variant, spec in VARIANTS.items()
    if not (spec.stride_in_1x1 and block is BasicBlock)  # a = b for basic blocks: ResNet refuses it
}
PRESETS.update({arch: dict(type='tricks.NFNet', arch=arch) for arch in ('nf_resnet50', 'nfnet_f0', 'nfnet_f1')})
PRESETS['resnet9'] = dict(type='tricks.ResNet9')  # the CIFAR-10 record net


def build_backbone(name_or_cfg: str | dict, **overrides):
    """Build a backbone from a preset name or a config dict; `overrides` update the config."""
    if isinstance(name_or_cfg, str):
        if name_or_cfg not in PRESETS:
            raise ArgError(f'unknown backbone preset {name_or_cfg!r}; expected one of {", ".join(PRESETS)}')
        name_or_cfg = PRESETS[name_or_cfg]
    return MODELS.build({**copy.deepcopy(name_or_cfg), **overrides})
