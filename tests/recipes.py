"""A classification config's Runner, built as `Runner.train` builds it before its first iteration (loop, optim
wrapper, linear lr scaling, lr schedulers, hooks), over a stand-in dataset of `iters_per_epoch` batches: what the
run really trains with, without its data. A distillation teacher gets a checkpoint of fresh weights."""

from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import cls  # noqa: F401  (registration)
from backbones.registry import MODELS

ROOT = Path(__file__).resolve().parents[1]


def fresh_teacher_checkpoint(teacher: dict, path: Path) -> str:
    cfg = Config.fromfile(str(ROOT / teacher['config']))
    with DefaultScope.overwrite_default_scope('tricks'):
        model = MODELS.build(cfg.model)
    torch.save({'state_dict': model.state_dict()}, path)
    return str(path)


def prepared_runner(config: str | Path, work_dir: Path, iters_per_epoch: int = 4) -> Runner:
    cfg = Config.fromfile(str(config))
    batch_size = cfg.train_dataloader.batch_size
    cfg.train_dataloader = dict(
        dataset=[0] * (batch_size * iters_per_epoch),
        batch_size=batch_size,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
    )
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg', 'test_evaluator'):
        cfg[key] = None
    cfg.default_hooks.checkpoint = None
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'{work_dir.name}_{Path(config).stem}'  # several runners a second: unique names
    if cfg.model.get('teacher'):
        cfg.model.teacher.checkpoint = fresh_teacher_checkpoint(cfg.model.teacher, work_dir / 'teacher.pth')
    runner = Runner.from_cfg(cfg)
    # Runner.train's own steps before the loop starts (mmengine 0.10.7).
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(runner.optim_wrapper, runner.auto_scale_lr)
    runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
    return runner


def lr_of_every_iteration(runner: Runner) -> list[float]:
    """The lr each iteration trains with when mmengine's ParamSchedulerHook drives the runner's schedulers:
    iteration-based ones step after every iteration, epoch-based ones after every epoch."""
    optimizer = runner.optim_wrapper.optimizer
    schedulers = runner.param_schedulers
    lrs = []
    for _ in range(runner.max_epochs):
        for _ in range(len(runner.train_dataloader)):
            lrs.append(optimizer.param_groups[0]['lr'])
            optimizer.step()  # no gradients: nothing moves, but the schedulers see a step taken
            for scheduler in schedulers:
                if not scheduler.by_epoch:
                    scheduler.step()
        for scheduler in schedulers:
            if scheduler.by_epoch:
                scheduler.step()
    return lrs


def fake_export(cls_config: str | Path, path: Path, seed: int = 0) -> Path:
    """What tools/export_backbone.py writes for the cls recipe `cls_config` (its backbone's weights, non-default
    values in every tensor, and its architecture in `meta.backbone`), without training it."""
    cfg = Config.fromfile(str(cls_config))
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('tricks'):
        backbone = MODELS.build(cfg.model.backbone)
    state = {
        k: (v + torch.randn_like(v) * 0.1 if v.is_floating_point() else v + 1) for k, v in backbone.state_dict().items()
    }
    torch.save({'state_dict': state, 'meta': {'backbone': backbone.arch_config(), 'trick_card': {}}}, path)
    return path
