"""The one train/test entry behind tools/train_{cls,det,seg}.py and tools/test_{cls,det,seg}.py.

OpenMMLab's CLI conventions (`config`, `--work-dir`, `--resume`, `--amp`, `--cfg-options`, `--launcher`); each task only
says which toolkit registers its modules. Our scope is registered for every task, so mmdet's and mmseg's own configs
run unchanged through these tools too, and every run saves plain-data checkpoints (`tricks.PlainCheckpointHook`).
"""
import argparse
import importlib
import os
import os.path as osp
from dataclasses import dataclass

from mmengine.config import Config, DictAction
from mmengine.runner import Runner


@dataclass(frozen=True)
class Task:
    default_scope: str
    toolkit: str | None  # package whose `utils.register_all_modules` must run first


TASKS = {
    'cls': Task(default_scope='tricks', toolkit=None),
    'det': Task(default_scope='mmdet', toolkit='mmdet'),
    'seg': Task(default_scope='mmseg', toolkit='mmseg'),
}
AMP_DTYPES = {'fp16': 'float16', 'bf16': 'bfloat16'}


def parse_args(mode: str, argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=f'{mode} a model from a config')
    parser.add_argument('config', help='config file path')
    if mode == 'test':
        parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default: ./work_dirs/<config name>)')
    if mode == 'train':
        parser.add_argument('--resume', nargs='?', const='auto', default=None,
                            help='resume from the latest checkpoint in the work dir, or from the given one')
    parser.add_argument('--amp', nargs='?', const='auto', choices=['auto', *AMP_DTYPES], default=None,
                        help='mixed precision: fp16 (dynamic loss scaling) or bf16; auto = fp16 on CUDA, bf16 on CPU')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config keys, e.g. train_cfg.max_epochs=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def load_config(task: Task, args: argparse.Namespace) -> Config:
    if not osp.isfile(args.config):
        raise SystemExit(f'error: config file {args.config} not found')
    if task.toolkit:
        importlib.import_module(f'{task.toolkit}.utils').register_all_modules(init_default_scope=False)
    importlib.import_module('cls')  # our scope: backbones, hooks, and the classification modules
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    cfg.setdefault('default_scope', task.default_scope)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    hooks = cfg.setdefault('custom_hooks', [])
    if not any(h.get('type') in ('tricks.PlainCheckpointHook', 'PlainCheckpointHook') for h in hooks):
        hooks.append(dict(type='tricks.PlainCheckpointHook'))
    if args.amp:
        use_amp(cfg, args.amp)
    if getattr(args, 'resume', None):
        cfg.resume = True
        cfg.load_from = None if args.resume == 'auto' else args.resume
    return cfg


def use_amp(cfg: Config, amp: str) -> None:
    """Switch the config's optim wrapper to our AMP wrapper (it runs on CPU too, unlike mmengine 0.10.7's)."""
    import torch
    if amp == 'auto':
        amp = 'fp16' if torch.cuda.is_available() else 'bf16'
    wrapper = cfg.optim_wrapper
    if wrapper.get('type') not in (None, 'OptimWrapper', 'tricks.OptimWrapper', 'AmpOptimWrapper',
                                   'tricks.AmpOptimWrapper'):
        raise SystemExit(f'error: --amp cannot replace optim_wrapper.type={wrapper.type!r}')
    wrapper.type = 'tricks.AmpOptimWrapper'
    wrapper.dtype = AMP_DTYPES[amp]
    if amp == 'fp16':
        wrapper.setdefault('loss_scale', 'dynamic')


def main(task_name: str, mode: str, argv: list[str] | None = None):
    args = parse_args(mode, argv)
    cfg = load_config(TASKS[task_name], args)
    if mode == 'test':
        cfg.load_from = args.checkpoint
    runner = Runner.from_cfg(cfg)
    return runner.train() if mode == 'train' else runner.test()
