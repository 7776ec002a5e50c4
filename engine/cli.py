"""The one train/test entry behind tools/train_{cls,det,seg}.py and tools/test_{cls,det,seg}.py.

OpenMMLab's CLI conventions (`config`, `--work-dir`, `--resume`, `--amp`, `--cfg-options`, `--launcher`); each task's
spec (`engine.tasks`) says which toolkit registers its modules. Our scope is registered for every task, so mmdet's and
mmseg's own configs run unchanged through these tools too, and every run saves plain-data checkpoints
(`tricks.PlainCheckpointHook`). The arguments are `RunSettings`, which the ladder builds as data.
"""

import argparse
import contextlib
import difflib
import errno
import importlib
import os
import os.path as osp
import subprocess
import sys
from dataclasses import dataclass, field

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from backbones import checkpoint as checkpoint_io
from backbones.checkpoint import free_space, latest_checkpoint
from backbones.errors import UserError
from backbones.exported import follow_exported_channels
from cls.optim import resolve_amp_dtype

from .host import reuse_freed_memory, work_dir_lock
from .preemption import PREEMPTED_EXIT, Preempted
from .tasks import TASKS, Task
from .visualize import TRACKERS, use_trackers

AMP_DTYPES = {'auto': None, 'fp16': 'float16', 'bf16': 'bfloat16'}  # None: the device's default (cls.optim)
# Every run through these tools keeps them, whatever its config says (configs list them too, for other runners).
SAFETY_HOOKS = ('tricks.NonFiniteLossHook', 'tricks.PlainCheckpointHook', 'tricks.ReseedHook', 'tricks.PreemptionHook')
# The default hooks mmengine's Runner itself knows (Runner.register_default_hooks): None removes one of these.
MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler', 'checkpoint')


class ConfigError(UserError):
    """A config key or value that cannot run as given."""


@dataclass
class RunSettings:
    """What a train or test run is asked to do: the command line as data."""

    config: str
    checkpoint: str | None = None  # test: the checkpoint to evaluate
    work_dir: str | None = None
    resume: str | None = None  # train: 'auto' (the work dir's last checkpoint) or a checkpoint
    amp: str | None = None  # 'auto', 'fp16' or 'bf16'
    data_root: str | None = None
    schedule_scale: float | None = None
    cfg_options: dict = field(default_factory=dict)
    launcher: str = 'none'
    debug: bool = False  # a failed run shows its traceback, not just its one-line error
    verify: bool = True  # check every checkpoint's tensors against the digests saved with them
    vis: tuple[str, ...] = ()  # experiment trackers beside the local log: 'tensorboard', 'mlflow' (engine.visualize)
    vis_dir: str | None = None  # the folder that groups the trackers' runs (default: the work dir)
    vis_run: str | None = None  # this run's name there (default: the config's name)

    def argv(self) -> list[str]:
        """The train/test tool's arguments for these settings (the inverse of `parse_args`)."""
        argv = [self.config, *([self.checkpoint] if self.checkpoint else [])]
        for flag, value in (
            ('--work-dir', self.work_dir),
            ('--data-root', self.data_root),
            ('--schedule-scale', self.schedule_scale),
            ('--amp', self.amp),
            ('--vis-dir', self.vis_dir),
            ('--vis-run', self.vis_run),
        ):
            if value is not None:
                argv += [flag, str(value)]
        if self.vis:
            argv += ['--vis', *self.vis]
        if self.cfg_options:
            argv += ['--cfg-options', *(f'{k}={option_text(v)}' for k, v in self.cfg_options.items())]
        if self.launcher != 'none':
            argv += ['--launcher', self.launcher]
        if self.resume:
            argv += ['--resume'] + ([] if self.resume == 'auto' else [self.resume])
        if self.debug:
            argv += ['--debug']
        if not self.verify:
            argv += ['--no-verify']
        return argv


def option_text(value) -> str:
    """A value as `--cfg-options` (mmengine's DictAction) reads it back."""
    if isinstance(value, (list, tuple)):
        return '[' + ','.join(option_text(v) for v in value) + ']'
    text = str(value)
    if isinstance(value, str) and (',' in text or ' ' in text):
        raise ValueError(f'cfg_options value {text!r}: commas and spaces cannot pass through --cfg-options')
    return text


def parse_args(mode: str, argv: list[str] | None = None) -> RunSettings:
    parser = argparse.ArgumentParser(description=f'{mode} a model from a config')
    parser.add_argument('config', help='config file path')
    if mode == 'test':
        parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default: ./work_dirs/<config name>)')
    if mode == 'train':
        parser.add_argument(
            '--resume',
            nargs='?',
            const='auto',
            default=None,
            help='resume from the latest checkpoint in the work dir, or from the given one',
        )
    parser.add_argument(
        '--amp',
        nargs='?',
        const='auto',
        choices=list(AMP_DTYPES),
        default=None,
        help='mixed precision: fp16 (dynamic loss scaling) or bf16; auto = fp16 on CUDA, bf16 on a CPU with native '
        'bf16, else fp32',
    )
    parser.add_argument('--data-root', help='data_root of every dataset in the config (train, val and test)')
    if mode == 'train':
        parser.add_argument(
            '--schedule-scale',
            type=float,
            default=None,
            metavar='F',
            help='train F times as long: the loop and every lr scheduler scale together',
        )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='override config keys, e.g. train_cfg.max_epochs=2',
    )
    parser.add_argument(
        '--vis',
        nargs='+',
        choices=TRACKERS,
        default=(),
        type=str,
        help="experiment trackers beside mmengine's local log: tensorboard, mlflow (engine/visualize.py)",
    )
    parser.add_argument('--vis-dir', help="the trackers' folder, which groups runs (default: the work dir)")
    parser.add_argument('--vis-run', help="this run's name in the trackers (default: the config's name)")
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--debug', action='store_true', help='show the traceback of a failed run')
    parser.add_argument(
        '--no-verify',
        dest='verify',
        action='store_false',
        help='load a checkpoint even where a tensor does not match the digest saved with it (to salvage a file)',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = vars(parser.parse_args(argv))
    os.environ.setdefault('LOCAL_RANK', str(args.pop('local_rank')))
    return RunSettings(**args | dict(vis=tuple(args['vis'])))


def register_modules(task: Task) -> None:
    if task.toolkit:
        importlib.import_module(f'{task.toolkit}.utils').register_all_modules(init_default_scope=False)
    for package in (
        'engine.hooks',
        'engine.preemption',
        'engine.visualize',
        'cls',
        *([task.name] if task.transfers else []),
    ):
        importlib.import_module(package)  # our scope: backbones, shared hooks, cls modules, the task's own


def load_config(task: Task, settings: RunSettings, register: bool = True) -> Config:
    """The config a run executes. `register=False` only resolves it (a ladder comparing recipes needs no toolkit)."""
    if not osp.isfile(settings.config):
        raise SystemExit(f'error: config file {settings.config} not found')
    if register:
        register_modules(task)
    cfg = Config.fromfile(settings.config)
    check_option_keys(cfg, settings)
    cfg.merge_from_dict(settings.cfg_options)
    drop_switched_off_hooks(cfg)
    if settings.data_root:
        set_data_root(cfg, settings.data_root)
    if register and task.backbone_readers:
        follow_exported_channels(cfg.model, task.backbone_readers, settings.config)
    if settings.schedule_scale:
        rescale_schedule(cfg, settings.schedule_scale)
    cfg.setdefault('default_scope', task.default_scope)
    cfg.launcher = settings.launcher
    cfg.work_dir = settings.work_dir or cfg.get('work_dir') or default_work_dir(settings.config)
    use_safety_hooks(cfg)
    if settings.amp:
        use_amp(cfg, settings.amp)
    evaluate_in_the_amp_rules_precision(cfg)
    if settings.resume:
        cfg.resume = True
        cfg.load_from = latest_checkpoint(cfg.work_dir) if settings.resume == 'auto' else settings.resume
    if settings.vis:
        use_trackers(cfg, settings.vis, settings.vis_dir, settings.vis_run, bool(settings.resume), settings.config)
    check_schedule_fits(cfg, settings.config)
    return cfg


def check_option_keys(cfg: Config, settings: RunSettings) -> None:
    """A `--cfg-options` key that misses an existing key by a letter or two (`optim_wraper.optimizer.lr`,
    `train_cfg.max_epoch`) is refused: mmengine would add it silently and the run would ignore it. New keys that are
    no near miss (`optim_wrapper.loss_scale.init_scale`) are added, as mmengine does."""
    tree = cfg.to_dict()
    for key in settings.cfg_options:
        node, parts = tree, key.split('.')
        for depth, part in enumerate(parts):
            if not isinstance(node, (dict, list)):
                raise ConfigError(
                    f'--cfg-options {key}: {".".join(parts[:depth])} is a value, not a dict, in {settings.config}'
                )
            known = [str(i) for i in range(len(node))] if isinstance(node, list) else list(node)
            if part in known:
                node = node[int(part)] if isinstance(node, list) else node[part]
                continue
            close = difflib.get_close_matches(part, known, n=1, cutoff=0.8)
            if close:
                raise ConfigError(
                    f'--cfg-options {key}: {settings.config} has no key {".".join(parts[: depth + 1])} '
                    f'(did you mean {".".join([*parts[:depth], close[0]])}?)'
                )
            break


def drop_switched_off_hooks(cfg: Config) -> None:
    """`default_hooks.<name>=None` switches a hook off. mmengine accepts that only for its own six default hooks (it
    asserts on any other name), so ours (`time_to_accuracy`, the record runs' `ema`) are dropped from the dict here."""
    hooks = cfg.get('default_hooks') or {}
    for name in [name for name, hook in hooks.items() if hook is None and name not in MMENGINE_DEFAULT_HOOKS]:
        hooks.pop(name)


def check_schedule_fits(cfg: Config, config: str) -> None:
    """Every lr/momentum scheduler must begin before the run ends: mmengine would stop inside the scheduler with
    `end should be larger than begin`, naming no key."""
    loop = cfg.get('train_cfg') or {}
    key = 'max_epochs' if 'max_epochs' in loop else 'max_iters' if 'max_iters' in loop else None
    schedulers = cfg.get('param_scheduler') or []
    for index, scheduler in enumerate([schedulers] if isinstance(schedulers, dict) else schedulers):
        if key is None or scheduler.get('by_epoch', True) != (key == 'max_epochs'):
            continue
        begin, end = scheduler.get('begin', 0), scheduler.get('end')
        if begin >= (end if end is not None else loop[key]):
            what = f'ends at {end}' if end is not None else f'would end with the run at train_cfg.{key}={loop[key]}'
            raise ConfigError(
                f'{config}: param_scheduler[{index}] ({scheduler.get("type")}) begins at '
                f'{"epoch" if key == "max_epochs" else "iteration"} {begin} but {what}: lengthen the '
                f'run or shorten the scheduler'
            )


def use_safety_hooks(cfg: Config) -> None:
    """Every run through these tools stops on a non-finite loss, saves plain-data checkpoints, saves them in a way a
    kill cannot break (`engine.hooks`), and stops on a signal with a checkpoint it resumes from exactly, mid-epoch too
    (`engine.preemption`), whatever its config (a stock mmdet/mmseg one too) lists."""
    hooks = cfg.setdefault('custom_hooks', [])
    for hook in SAFETY_HOOKS:
        if not any(h.get('type') in (hook, hook.removeprefix('tricks.')) for h in hooks):
            hooks.append(dict(type=hook))
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint')
    if checkpoint and checkpoint.get('type') in ('CheckpointHook', 'mmengine.CheckpointHook'):
        checkpoint.type = 'tricks.CheckpointHook'
    loop = cfg.get('train_cfg') or {}
    if 'by_epoch' in loop:  # mmengine's two loops by flag (a config has either this or a type)
        loop.type = 'EpochBasedTrainLoop' if loop.pop('by_epoch') else 'IterBasedTrainLoop'
    kind = loop.get('type')
    name = kind.removeprefix('mmengine.') if isinstance(kind, str) else None
    if name in ('EpochBasedTrainLoop', 'IterBasedTrainLoop'):  # mmengine's: ours are the same, safe to stop
        loop.type = f'tricks.{name}'


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point every dataset of the config (wrapped ones too: `dataset`, `datasets`) at `data_root`."""

    def visit(dataset):
        if 'datasets' in dataset:
            for child in dataset.datasets:
                visit(child)
        elif 'dataset' in dataset:
            visit(dataset.dataset)
        else:
            dataset.data_root = data_root

    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key):
            visit(cfg[key].dataset)


def rescale_schedule(cfg: Config, factor: float) -> None:
    """Train `factor` times as long and keep the schedule's shape: the loop's length and every lr/momentum
    scheduler's begin, end, milestones, T_max and step_size scale together (in epochs or iterations, whichever each
    uses). Validation and checkpoint intervals that meant "at the end" stay at the end; shorter ones are kept."""
    if not factor > 0:
        raise SystemExit(f'error: --schedule-scale must be positive, got {factor}')
    loop = cfg.train_cfg
    length_key = 'max_epochs' if 'max_epochs' in loop else 'max_iters'
    if length_key not in loop:
        raise SystemExit(f'error: {cfg.filename}: train_cfg has neither max_epochs nor max_iters to scale')
    old_length = loop[length_key]
    loop[length_key] = new_length = max(1, round(old_length * factor))

    def interval(value):
        return new_length if value >= old_length else min(value, new_length)

    if loop.get('val_interval'):
        loop.val_interval = interval(loop.val_interval)
    if loop.get('val_begin', 1) > 1:  # the first validation moves with the loop, and never past its end
        loop.val_begin = min(new_length, max(1, round(loop.val_begin * factor)))
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint')
    if checkpoint and checkpoint.get('interval', -1) > 0:
        checkpoint.interval = interval(checkpoint.interval)

    schedulers = cfg.get('param_scheduler') or []
    for scheduler in [schedulers] if isinstance(schedulers, dict) else schedulers:
        begin = scheduler['begin'] = round(scheduler.get('begin', 0) * factor)
        if scheduler.get('end') is not None:
            scheduler.end = max(begin + 1, round(scheduler.end * factor))
        for key in ('T_max', 'step_size'):
            if scheduler.get(key) is not None:
                scheduler[key] = max(1, round(scheduler[key] * factor))
        if scheduler.get('milestones') is not None:
            scheduler.milestones = [m and max(1, round(m * factor)) for m in scheduler.milestones]  # 0 stays 0


def default_work_dir(config: str) -> str:
    """work_dirs/<config path below configs/, without .py>, e.g. work_dirs/cls/demo/resnet18d_cosine; a config
    outside configs/: work_dirs/<config name>."""
    parts = osp.splitext(osp.abspath(config))[0].split(os.sep)
    below = parts[len(parts) - parts[::-1].index('configs') :] if 'configs' in parts else parts[-1:]
    return osp.join('work_dirs', *below)


def use_amp(cfg: Config, amp: str) -> None:
    """Switch the config's optim wrapper to our AMP wrapper (it runs on CPU too, unlike mmengine 0.10.7's); 'auto'
    leaves the dtype to the wrapper's device (`cls.optim.resolve_amp_dtype`)."""
    wrapper = cfg.optim_wrapper
    if wrapper.get('type') not in (
        None,
        'OptimWrapper',
        'tricks.OptimWrapper',
        'AmpOptimWrapper',
        'tricks.AmpOptimWrapper',
    ):
        raise SystemExit(f'error: --amp cannot replace optim_wrapper.type={wrapper.type!r}')
    wrapper.type = 'tricks.AmpOptimWrapper'
    wrapper.dtype = AMP_DTYPES[amp]


def evaluate_in_the_amp_rules_precision(cfg: Config) -> None:
    """`val_cfg`/`test_cfg` `fp16=True` is mmengine's autocast in torch's default dtype for the device, bf16 on every
    CPU. Where the AMP rule trains in fp32 (a CPU without native bf16: `cls.optim.resolve_amp_dtype`), evaluation
    runs in fp32 too instead of in emulated bf16."""
    import torch

    if torch.cuda.is_available() or resolve_amp_dtype(None, 'cpu') != torch.float32:
        return
    for loop in ('val_cfg', 'test_cfg'):
        if (cfg.get(loop) or {}).get('fp16'):
            cfg[loop].fp16 = False


def join_cpu_process_group(cfg: Config) -> None:
    """mmengine 0.10.7 launches on accelerators only (it calls torch.cuda.set_device and gives DDP device ids). Without
    one, a `--launcher pytorch` (torchrun) or `--launcher slurm` run joins a gloo process group here, before the Runner
    would, and wraps the model for CPU DDP. torch's SyncBatchNorm runs on GPUs only: on CPU processes the model's
    SyncBN layers become per-process BN (as mmengine makes them for a run that is not distributed), and the log says
    so."""
    import torch
    import torch.distributed as dist

    if cfg.launcher not in ('pytorch', 'slurm') or torch.cuda.is_available() or dist.is_initialized():
        return
    if cfg.launcher == 'slurm':
        use_slurm_ranks()
    dist.init_process_group('gloo')
    cfg.model_wrapper_cfg = {
        **dict(type='MMDistributedDataParallel', broadcast_buffers=False),
        **(cfg.get('model_wrapper_cfg') or {}),
        'device_ids': None,
    }
    if replace_sync_bn(cfg.model):
        print('SyncBN needs GPUs: on these CPU processes every SyncBN layer runs as per-process BN', flush=True)


def use_slurm_ranks() -> None:
    """torch's environment variables from Slurm's, as mmengine's slurm launcher sets them (which then calls
    torch.cuda.set_device): the rank and world from the task, the address of the job's first node."""
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        nodes = subprocess.run(
            ['scontrol', 'show', 'hostnames', os.environ['SLURM_NODELIST']], capture_output=True, text=True, check=True
        )
        os.environ['MASTER_ADDR'] = nodes.stdout.split()[0]


def replace_sync_bn(node) -> bool:
    """Every `norm_cfg`-style dict(type='SyncBN', ...) under `node` becomes type 'BN'; True if there was one."""
    found = False
    if isinstance(node, dict):
        if node.get('type') == 'SyncBN':
            node['type'], found = 'BN', True
        for value in node.values():
            found = replace_sync_bn(value) or found
    elif isinstance(node, list):
        for value in node:
            found = replace_sync_bn(value) or found
    return found


def one_line(err: BaseException) -> str:
    """A UserError's line; raised in a DataLoader worker, it arrives inside the worker's traceback: its last line."""
    lines = [line for line in str(err).splitlines() if line.strip()]
    line = lines[-1] if lines else type(err).__name__
    prefix = f'{type(err).__module__}.{type(err).__name__}: '
    return line.removeprefix(prefix)


def task_of_config(argv: list[str] | None = None) -> str:
    """The task of the config named first on the command line, by its `default_scope` (engine.tasks)."""
    argv = sys.argv[1:] if argv is None else argv
    config = next((a for a in argv if not a.startswith('-')), None)
    if config is None or not osp.isfile(config):
        raise SystemExit(f'error: config file {config} not found')
    scope = Config.fromfile(config).get('default_scope')
    tasks = [name for name, task in TASKS.items() if task.default_scope == scope]
    if not tasks:
        raise SystemExit(
            f"error: {config}: default_scope {scope!r} is no task's "
            f'({", ".join(f"{t.default_scope} → {n}" for n, t in TASKS.items())})'
        )
    return tasks[0]


def tool(task_name: str, mode: str) -> None:
    """What tools/{train,test}_<task>.py run: `main`, with bad input or a run that cannot go on reported as its one
    line (`error: ...`) and exit status 1; `--debug` shows the traceback instead."""
    reuse_freed_memory()
    try:
        main(task_name, mode)
    except Preempted as err:  # a stop on request, saved: Slurm requeues on this status (tools/slurm_train.sh)
        print(f'stopped: {err}', file=sys.stderr, flush=True)
        raise SystemExit(PREEMPTED_EXIT) from None
    except UserError as err:
        if '--debug' in sys.argv:
            raise
        raise SystemExit(f'error: {one_line(err)}') from None
    except OSError as err:  # a full disk outside the checkpoint saves (config dump, logs, exports)
        if err.errno != errno.ENOSPC or '--debug' in sys.argv:
            raise
        where = err.filename or os.getcwd()
        folder = where if osp.isdir(where) else osp.dirname(osp.abspath(where))
        raise SystemExit(f'error: {where}: no space left on the device ({free_space(folder)} free)') from None


def main(task_name: str, mode: str, argv: list[str] | None = None) -> Runner:
    settings = parse_args(mode, argv)
    checkpoint_io.verify_digests = settings.verify
    cfg = load_config(TASKS[task_name], settings)
    join_cpu_process_group(cfg)
    if mode == 'test':
        cfg.load_from = settings.checkpoint
        runner = Runner.from_cfg(cfg)
        runner.test()
        return runner
    rank = int(os.environ.get('RANK', os.environ.get('SLURM_PROCID', 0)))
    with work_dir_lock(cfg.work_dir) if rank == 0 else contextlib.nullcontext():  # one run per work dir
        runner = Runner.from_cfg(cfg)
        check_batches(runner, settings.config)
        runner.train()
    return runner


def check_batches(runner: Runner, config: str) -> None:
    """Build the training data (its checks run here, before the model is initialised) and make sure it gives a
    batch: a batch larger than the set with drop_last would train on nothing, or fail deep in mmengine."""
    loader = runner.train_dataloader
    if len(loader) == 0:
        raise ConfigError(
            f'{config}: train_dataloader.batch_size={loader.batch_size} with drop_last=True leaves no '
            f'batch of the {len(loader.dataset)} training samples'
        )
