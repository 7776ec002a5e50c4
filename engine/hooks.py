"""Hooks every task shares (cls, det, seg): registered in the `tricks` scope, so any config switches them on with
`custom_hooks=[dict(type='tricks.…')]`, a user's stock mmdet/mmseg config included (`custom_imports=['engine']`).

- `PlainCheckpointHook`: every checkpoint the Runner saves is plain data, which the safe loader
  (`backbones.checkpoint.load_checkpoint`) can resume from.
- `BackboneWeightsCheckHook`: before fine-tuning starts, the backbone equals the exported backbone it was told to
  load, tensor for tensor, and is the architecture that export was trained as. A detector or segmentor whose
  `init_cfg=dict(type='Pretrained', ...)` silently fell back to random weights (a wrong prefix, renamed keys, a typo)
  would otherwise train to a plausible but meaningless result; a variant-a export loaded into variant b (same
  shapes) would pass a shape check.
"""

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from backbones.checkpoint import exported_meta, load_checkpoint, to_plain
from backbones.errors import CheckpointError
from backbones.registry import HOOKS


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Make every checkpoint the Runner saves plain data (see `backbones.checkpoint`)."""

    priority = 'LOWEST'  # after every other hook has added its part

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        plain = to_plain(checkpoint)
        checkpoint.clear()
        checkpoint.update(plain)


def pretrained_source(backbone: torch.nn.Module) -> tuple[str, str] | None:
    """(checkpoint, prefix) of the backbone's `init_cfg=dict(type='Pretrained', ...)`, or None."""
    init_cfg = getattr(backbone, 'init_cfg', None)
    for cfg in init_cfg if isinstance(init_cfg, list) else [init_cfg]:
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            return cfg['checkpoint'], cfg.get('prefix', '')
    return None


def _names(keys: list[str], limit: int = 3) -> str:
    shown = ', '.join(keys[:limit])
    return shown + (f' (+{len(keys) - limit} more)' if len(keys) > limit else '')


def check_backbone_weights(backbone: torch.nn.Module, checkpoint: str, prefix: str = '') -> int:
    """Raise a one-line CheckpointError naming the architecture keys, or the missing, unexpected or differing tensors,
    that do not match; return the count of tensors checked."""
    content = load_checkpoint(checkpoint)
    exported_arch = exported_meta(checkpoint, content).get('backbone')
    if exported_arch and hasattr(backbone, 'arch_config'):
        built = backbone.arch_config()
        differ = [f'{k}={built.get(k)!r} (exported as {v!r})' for k, v in exported_arch.items() if built.get(k) != v]
        if differ:
            raise CheckpointError(
                f'{checkpoint}: the backbone is not the architecture this export was trained as: {"; ".join(differ)}'
            )
    state = content.get('state_dict', content)
    if prefix:
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    model_state = backbone.state_dict()
    missing = sorted(set(model_state) - set(state))
    unexpected = sorted(set(state) - set(model_state))
    if missing or unexpected:
        raise CheckpointError(
            f'{checkpoint}: backbone keys do not match (prefix {prefix!r}): '
            f'missing {_names(missing) or "-"}; unexpected {_names(unexpected) or "-"}'
        )
    differ = [
        k for k, v in model_state.items() if v.shape != state[k].shape or not torch.equal(v.cpu(), state[k].to(v.dtype))
    ]
    if differ:
        raise CheckpointError(
            f'{checkpoint}: {len(differ)} backbone tensors differ from the checkpoint after init: {_names(differ)}'
        )
    return len(model_state)


@HOOKS.register_module()
class BackboneWeightsCheckHook(Hook):
    """Before training: the backbone equals its `Pretrained` checkpoint, tensor for tensor (skipped on resume)."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        if runner.iter > 0:  # resumed: the backbone has trained since
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        source = pretrained_source(model.backbone)
        if source is None:
            runner.logger.info('BackboneWeightsCheckHook: the backbone has no Pretrained init_cfg; nothing to check')
            return
        count = check_backbone_weights(model.backbone, *source)
        runner.logger.info(f'BackboneWeightsCheckHook: all {count} backbone tensors equal {source[0]}')
