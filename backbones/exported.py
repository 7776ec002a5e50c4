"""`tricks.ExportedBackbone`: a det/seg backbone whose architecture comes from the exported cls backbone it loads.

A transfer row then names its backbone once, by the file:
    backbone=dict(type='tricks.ExportedBackbone', checkpoint='work_dirs/cls/…/backbone.pth', out_indices=(0, 1, 2, 3),
                  frozen_stages=1, norm_eval=True)
builds the backbone type of the export with its architecture keys (`meta.backbone`: depth, variant, widths for
`tricks.ResNet`; arch for `tricks.NFNet`), the task's own keys from the config, and
`init_cfg=dict(type='Pretrained', checkpoint=…)`; `engine.hooks.BackboneWeightsCheckHook` then checks both arrived.
"""

from torch import nn

from .checkpoint import exported_meta
from .errors import BackboneArgError
from .registry import MODELS


def build_exported_backbone(checkpoint: str, **task_keys) -> nn.Module:
    """The backbone of `checkpoint` (an export of `tools/export_backbone.py` or the ladder) with `task_keys` on top."""
    arch = exported_meta(checkpoint).get('backbone')
    if not arch:
        raise BackboneArgError(
            f'{checkpoint}: no backbone config in the file (meta.backbone): export it with '
            f'tools/export_backbone.py, or name the backbone type with init_cfg=Pretrained instead'
        )
    restated = sorted(set(task_keys) & (set(arch) | {'init_cfg', 'pretrained'}))
    if restated:
        raise BackboneArgError(
            f'{checkpoint}: {", ".join(restated)} come(s) from the export ({arch}); '
            f'remove them from the backbone config'
        )
    return MODELS.build({**arch, **task_keys, 'init_cfg': dict(type='Pretrained', checkpoint=checkpoint)})


MODELS.register_module(name='ExportedBackbone', module=build_exported_backbone)
