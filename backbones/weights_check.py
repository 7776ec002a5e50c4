"""Make sure a pretrained backbone really arrived before fine-tuning starts.

A detector or segmentor whose `init_cfg=dict(type='Pretrained', ...)` silently falls back to random weights (a wrong
prefix, renamed keys, a typo in the path) trains to a plausible but meaningless result. `BackboneWeightsCheckHook`
compares, before the first iteration, every tensor of the model's backbone with the checkpoint it was told to load.
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from .checkpoint import load_checkpoint
from .errors import CheckpointError
from .registry import HOOKS


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
    """Raise a one-line CheckpointError naming the missing, unexpected or differing keys; return the count checked."""
    state = load_checkpoint(checkpoint)
    state = state.get('state_dict', state)
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    model_state = backbone.state_dict()
    missing = sorted(set(model_state) - set(state))
    unexpected = sorted(set(state) - set(model_state))
    if missing or unexpected:
        raise CheckpointError(f'{checkpoint}: backbone keys do not match (prefix {prefix!r}): '
                              f'missing {_names(missing) or "-"}; unexpected {_names(unexpected) or "-"}')
    differ = [k for k, v in model_state.items()
              if v.shape != state[k].shape or not torch.equal(v.cpu(), state[k].to(v.dtype))]
    if differ:
        raise CheckpointError(f'{checkpoint}: {len(differ)} backbone tensors differ from the checkpoint after init: '
                              f'{_names(differ)}')
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
