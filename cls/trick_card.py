"""The trick card: the resolved recipe of a run, as plain data, written into every checkpoint it saves.

It answers "what exactly was this backbone trained with?" from the checkpoint alone. Each component says what it
contributes (`trick_card()` on the model and its parts, the optim wrapper, the batch augments); this module only
adds what belongs to no component of ours (mmengine's lr schedulers and EMA hook, the run's length and batch, the
machine).
"""

import platform
from pathlib import Path

import torch
from mmengine.dist import get_world_size
from mmengine.hooks import EMAHook, Hook
from mmengine.model import is_model_wrapper

from backbones.registry import HOOKS

from .optim import cpu_precision

SCHEDULER_KEYS = ('start_factor', 'end_factor', 'milestones', 'gamma', 'eta_min', 'T_max', 'power')


def schedule_card(param_schedulers) -> list[dict]:
    """mmengine's lr schedulers as they run: type, span and unit (iterations once converted from epochs), settings."""
    schedulers = param_schedulers if isinstance(param_schedulers, (list, tuple)) else [param_schedulers]
    card = []
    for scheduler in schedulers or []:
        entry = dict(
            type=type(scheduler).__name__,
            begin=scheduler.begin,
            end=scheduler.end,
            unit='epoch' if scheduler.by_epoch else 'iter',
        )
        for key in SCHEDULER_KEYS:
            value = getattr(scheduler, key, None)
            if value is not None:
                entry[key] = sorted(value) if key == 'milestones' else value
        card.append(entry)
    return card


def machine(device: torch.device | None = None) -> dict:
    """The host as a card or report states it: the CPU model, its ATen kernel capability and native bf16 (the AMP
    rule's inputs, `cls.optim.cpu_precision`), threads, versions, the GPU, and the device a run trains on."""
    import mmengine
    import timm

    cpuinfo = Path('/proc/cpuinfo')
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    cpu = next((line.split(':', 1)[1].strip() for line in lines if line.startswith('model name')), platform.processor())
    precision = cpu_precision()
    return dict(
        **(dict(device=device.type) if device is not None else {}),
        cpu=cpu,
        cpu_capability=precision['capability'],
        cpu_native_bf16=precision['bfloat16'],
        threads=torch.get_num_threads(),
        torch=str(torch.__version__),  # a TorchVersion is not plain data
        timm=timm.__version__,
        mmengine=mmengine.__version__,
        python=platform.python_version(),
        gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    )


def trick_card(runner) -> dict:
    """The card of a Runner whose model, optim wrapper and schedulers are built (from `before_train` on)."""
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    wrapper = runner.optim_wrapper
    ema = next((hook.ema_cfg for hook in runner.hooks if isinstance(hook, EMAHook)), None)
    world_size = get_world_size()
    images_per_step = runner.train_dataloader.batch_size * world_size * getattr(wrapper, '_accumulative_counts', 1)
    return dict(
        **model.trick_card(),
        **(wrapper.trick_card() if hasattr(wrapper, 'trick_card') else dict(optimizer=type(wrapper).__name__)),
        schedule=schedule_card(runner.param_schedulers),
        ema=dict(ema) if ema is not None else None,
        epochs=runner.max_epochs,
        iterations=runner.max_iters,
        batch_size=images_per_step,
        world_size=world_size,
        seed=runner.seed,
        machine=machine(next(model.parameters()).device),
    )


@HOOKS.register_module()
class TrickCardHook(Hook):
    """Write `meta.trick_card` into every checkpoint, from the components the run really built."""

    priority = 'VERY_LOW'  # before PlainCheckpointHook (LOWEST) turns the checkpoint into plain data

    def before_train(self, runner) -> None:
        self.card = trick_card(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['trick_card'] = self.card
