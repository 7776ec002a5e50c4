"""The trick card: the resolved recipe of a run, as plain data, written into every checkpoint it saves.

It answers "what exactly was this backbone trained with?" from the checkpoint alone, and lets a ladder tell whether a
finished checkpoint matches the recipe it is asked for.
"""
from mmengine.config import Config, ConfigDict
from mmengine.dist import get_world_size
from mmengine.hooks import Hook

from backbones.registry import HOOKS


def _plain(value):
    if isinstance(value, (dict, ConfigDict)):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _schedule(param_scheduler) -> dict:
    """Warmup epochs/iters and the main decay of a param_scheduler list."""
    schedulers = param_scheduler if isinstance(param_scheduler, (list, tuple)) else [param_scheduler]
    card = dict(warmup=None, decay=None)
    for s in schedulers or []:
        kind = s.get('type', '').split('.')[-1]
        if kind == 'LinearLR' and s.get('end') is not None:
            card['warmup'] = dict(length=s.get('end'), by_epoch=s.get('by_epoch', True))
        elif kind in ('CosineAnnealingLR', 'MultiStepLR', 'StepLR', 'PolyLR', 'OneCycleLR'):
            card['decay'] = kind
            if kind == 'MultiStepLR':
                card['milestones'] = _plain(s.get('milestones'))
    return card


def trick_card(cfg: Config, world_size: int = 1, amp_dtype: str | None = None) -> dict:
    """The recipe a classification config resolves to: backbone, each trick and its value, epochs, batch, lr.

    `amp_dtype`: the precision the run really used; a config that leaves it to the device says 'auto'.
    """
    model = cfg.model
    backbone = model.backbone
    preprocessor = model.get('data_preprocessor', {}) or {}
    augments = preprocessor.get('batch_augments', []) or []
    mixup = next((a for a in augments if a.get('type', '').endswith('Mixup')), None)
    wrapper = cfg.optim_wrapper
    optimizer = wrapper.optimizer
    paramwise = wrapper.get('paramwise_cfg', {}) or {}
    clip = wrapper.get('clip_grad', None) or {}
    batch = cfg.train_dataloader.batch_size * world_size
    auto_scale = cfg.get('auto_scale_lr', {}) or {}
    lr = optimizer.lr * (batch / auto_scale['base_batch_size'] if auto_scale.get('enable') else 1)
    teacher = model.get('teacher')
    loss = model.get('loss', {}) or {}
    return dict(
        backbone=backbone.get('type'),
        depth=backbone.get('depth'),
        variant=backbone.get('variant'),
        arch=backbone.get('arch'),
        zero_gamma=bool(backbone.get('zero_init_residual', False)),
        epochs=cfg.train_cfg.get('max_epochs'),
        batch_size=batch,
        lr=lr,
        optimizer=optimizer.get('type'),
        nesterov=bool(optimizer.get('nesterov', False)),
        weight_decay=optimizer.get('weight_decay', 0.0),
        no_bias_decay=paramwise.get('bias_decay_mult') == 0 and paramwise.get('norm_decay_mult') == 0,
        **_schedule(cfg.get('param_scheduler')),
        label_smoothing=preprocessor.get('label_smoothing', 0.0),
        mixup_alpha=mixup.get('alpha') if mixup else None,
        distill=dict(teacher=teacher.get('config'), temperature=loss.get('distill_temperature', 20.0),
                     hard_weight=loss.get('distill_hard_weight', 0.5)) if teacher else None,
        amp=(amp_dtype or wrapper.get('dtype') or 'auto') if wrapper.get('type', '').endswith('AmpOptimWrapper')
        else None,
        agc=clip.get('clipping') if clip.get('type') == 'agc' else None,
    )


def planned_amp_dtype(cfg: Config) -> str | None:
    """The precision a config will train in on this machine, as TrickCardHook records it: an AMP wrapper that leaves
    the dtype to the device gets torch's autocast default (fp16 on CUDA, bf16 on CPU)."""
    import torch
    wrapper = cfg.optim_wrapper
    if not wrapper.get('type', '').endswith('AmpOptimWrapper'):
        return None
    if wrapper.get('dtype'):
        return str(wrapper.dtype).removeprefix('torch.')
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    return str(torch.get_autocast_dtype(device)).removeprefix('torch.')


@HOOKS.register_module()
class TrickCardHook(Hook):
    """Write `meta.trick_card` into every checkpoint."""
    priority = 'VERY_LOW'  # before PlainCheckpointHook (LOWEST) turns the checkpoint into plain data

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        dtype = getattr(runner.optim_wrapper, 'cast_dtype', None)
        checkpoint.setdefault('meta', {})['trick_card'] = trick_card(
            runner.cfg, get_world_size(), str(dtype).removeprefix('torch.') if dtype is not None else None)
