"""`tricks.ExportedBackbone`: a det/seg backbone whose architecture comes from the exported cls backbone it loads.

A transfer row then names its backbone once, by the file:
    backbone=dict(type='tricks.ExportedBackbone', checkpoint='work_dirs/cls/…/backbone.pth', out_indices=(0, 1, 2, 3),
                  frozen_stages=1, norm_eval=True)
builds the backbone type of the export with its architecture keys (`meta.backbone`: depth, variant, widths for
`tricks.ResNet`; arch for `tricks.NFNet`), the task's own keys from the config, and
`init_cfg=dict(type='Pretrained', checkpoint=…)`; `engine.hooks.BackboneWeightsCheckHook` then checks both arrived.
The modules that read its maps (an FPN neck, FCN heads) take their `in_channels` from it (`follow_exported_channels`),
so one det/seg config serves exports of any width or depth.
"""

import logging
import os.path as osp

import torch
from mmengine.logging import print_log
from torch import nn

from .checkpoint import exported_meta
from .errors import BackboneArgError
from .registry import MODELS


def exported_config(checkpoint: str, **task_keys) -> dict:
    """The backbone config of `checkpoint` (an export of `tools/export_backbone.py` or the ladder): its architecture
    keys, `task_keys` on top, and init_cfg=Pretrained from the file."""
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
    return {**arch, **task_keys, 'init_cfg': dict(type='Pretrained', checkpoint=checkpoint)}


def build_exported_backbone(checkpoint: str, **task_keys) -> nn.Module:
    """The backbone of `checkpoint` with `task_keys` on top (`exported_config`)."""
    return MODELS.build(exported_config(checkpoint, **task_keys))


MODELS.register_module(name='ExportedBackbone', module=build_exported_backbone)


def exported_out_channels(backbone_cfg: dict) -> tuple[int, ...]:
    """The channels of the maps a `tricks.ExportedBackbone` config gives (its out_indices), built without weights."""
    config = exported_config(**{k: v for k, v in backbone_cfg.items() if k != 'type'})
    with torch.device('meta'):  # shapes only: no memory, no init
        return tuple(MODELS.build(config).out_channels)


def follow_exported_channels(model_cfg: dict, readers: tuple[str, ...], where: str) -> None:
    """Set `in_channels` of the modules under `readers` (model keys: 'neck'; 'decode_head', 'auxiliary_head') to the
    exported backbone's channels: all of them for a neck, those its `in_index` picks (mmseg's default −1: the last)
    for a head. A value the config states otherwise is replaced, in one warning line naming both and `where`; a
    config whose backbone is not an export, or whose export is not there yet, is left as it is."""
    backbone = model_cfg.get('backbone') or {}
    exported = str(backbone.get('type', '')).endswith('ExportedBackbone')
    if not exported or not osp.isfile(backbone.get('checkpoint') or ''):
        return
    channels = exported_out_channels(backbone)
    for key in readers:
        modules = model_cfg.get(key)
        for index, module in enumerate(modules if isinstance(modules, list) else [modules] if modules else []):
            if 'in_channels' not in module:
                continue
            wanted = list(channels) if key == 'neck' else _picked(channels, module.get('in_index', -1))
            stated = module['in_channels']
            if (list(stated) if isinstance(stated, (list, tuple)) else stated) != wanted:
                name = f'model.{key}' + (f'[{index}]' if isinstance(modules, list) else '')
                print_log(
                    f'{where}: {name}.in_channels {stated} → {wanted}, the channels of {backbone["checkpoint"]}',
                    logger='current',
                    level=logging.WARNING,
                )
                module['in_channels'] = wanted


def _picked(channels: tuple[int, ...], in_index: int | list[int]) -> int | list[int]:
    """The channels of the maps a head's `in_index` picks: one, or a list for a list (mmseg's resize_concat)."""
    return [channels[i] for i in in_index] if isinstance(in_index, (list, tuple)) else channels[in_index]
