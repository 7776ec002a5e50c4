"""Hooks every task shares (cls, det, seg): registered in the `tricks` scope, so any config switches them on with
`custom_hooks=[dict(type='tricks.…')]`, a user's stock mmdet/mmseg config included (`custom_imports=['engine.hooks']`).

- `CheckpointHook`: mmengine's, made safe to kill and to copy (atomic files, the pointer last, relative to the work
  dir, outdated files removed only once the new one is in place).
- `PlainCheckpointHook`: every checkpoint the Runner saves is plain data, which the safe loader
  (`backbones.checkpoint.load_checkpoint`) can resume from.
- `NonFiniteLossHook`: a training loss that turns NaN or infinite stops the run before it is validated or saved.
- `ReseedHook` (with `seed_worker` for the DataLoader): every random draw depends on where the run is, not on what ran
  before in the process, so a run resumed from a checkpoint draws what the uninterrupted run drew.
- `TimeToAccuracyHook`: wall seconds since the process started at every validation, and when a target is first met.
- `BackboneWeightsCheckHook`: before fine-tuning starts, the backbone equals the exported backbone it was told to
  load, tensor for tensor, and is the architecture that export was trained as. A detector or segmentor whose
  `init_cfg=dict(type='Pretrained', ...)` silently fell back to random weights (a wrong prefix, renamed keys, a typo)
  would otherwise train to a plausible but meaningless result; a variant-a export loaded into variant b (same
  shapes) would pass a shape check.
"""

import json
import math
import os
import os.path as osp
import random
import time
from pathlib import Path

import numpy as np
import torch
from mmengine.dist import get_rank, is_main_process
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop

from backbones.checkpoint import (
    DIGESTS,
    DiskFullError,
    exported_meta,
    free_space,
    fsync,
    is_disk_full,
    latest_checkpoint,
    load_checkpoint,
    tensor_digests,
    to_plain,
    write_json,
    write_text,
)
from backbones.errors import CheckpointError, UserError
from backbones.registry import FUNCTIONS, HOOKS
from cls.data import SeededSampler, reseed

from .host import die_with_parent

PREEMPTED_PREFIX = 'preempted_'  # a stop signal's checkpoint (engine.preemption), superseded by the next regular save


class NonFiniteLossError(UserError):
    """The training loss became NaN or infinite."""


class NonFiniteWeightsError(UserError):
    """A tensor of the model to be saved is NaN or infinite."""


class _DeferredRemoval:
    """A file backend whose `remove` only notes the path: the previous best checkpoint stays until the new one is in
    place (`CheckpointHook._save_best_checkpoint`)."""

    def __init__(self, backend):
        self.backend, self.removed = backend, []

    def __getattr__(self, name):
        return getattr(self.backend, name)

    def remove(self, path: str) -> None:
        self.removed.append(path)


@HOOKS.register_module()
class CheckpointHook(MMEngineCheckpointHook):
    """mmengine's CheckpointHook (same arguments), safe to kill, to copy and to run out of disk. mmengine removes the
    outdated checkpoint (and the previous best) first, then writes the new one in place, then the `last_checkpoint`
    pointer, as an absolute path: a kill or a full disk in between leaves a truncated file, no best checkpoint, or a
    pointer to a deleted one, and a copied work dir resumes from, and deletes files of, the original. Here every
    checkpoint, the best included, is written under a temporary name, flushed to the disk and renamed into place, then
    the pointer the same way, relative to the work dir, and only then are outdated checkpoints and the previous best
    removed. A full disk stops the run in one line naming the work dir, the free space and the last good checkpoint,
    which stays loadable. Unfinished saves a kill left are removed when a run starts, in one line. A resumed run looks
    for the best checkpoint it remembers in its own dir."""

    def before_train(self, runner) -> None:
        super().before_train(runner)
        own = self.out_dir
        if is_main_process() and osp.isdir(own):  # what a kill left half-written
            stale = sorted(name for name in os.listdir(own) if name.endswith('.partial'))
            for name in stale:
                os.remove(osp.join(own, name))
            if stale:
                runner.logger.warning(
                    f'{own}: removed {len(stale)} unfinished save(s) of an interrupted run: {", ".join(stale)}'
                )
        if getattr(self, 'best_ckpt_path', None) and osp.dirname(self.best_ckpt_path) != own:
            self.best_ckpt_path = osp.join(own, osp.basename(self.best_ckpt_path))
        for key, path in getattr(self, 'best_ckpt_path_dict', {}).items():
            if path and osp.dirname(path) != own:
                self.best_ckpt_path_dict[key] = osp.join(own, osp.basename(path))

    def _save_atomically(self, runner, filename: str, save=None, **kwargs) -> None:
        """`runner.save_checkpoint` (or `save`) into `<filename>.partial`, flushed, renamed to `filename`."""
        save = save or runner.save_checkpoint
        partial = osp.join(self.out_dir, f'{filename}.partial')
        try:
            save(self.out_dir, osp.basename(partial), **kwargs)
            if is_main_process():  # mmengine saves on the main process only
                fsync(partial)
                os.replace(partial, osp.join(self.out_dir, filename))
                fsync(self.out_dir)
        except (OSError, RuntimeError) as err:
            if not is_disk_full(err, self.out_dir):
                raise
            if osp.exists(partial):
                os.remove(partial)
            pointer = osp.join(runner.work_dir, 'last_checkpoint')
            last = Path(pointer).read_text().strip() if osp.isfile(pointer) else None
            raise DiskFullError(
                f'{runner.work_dir}: no space left on the device ({free_space(self.out_dir)} free) while saving '
                f'{filename}; '
                + (f'the last good checkpoint, {last}, is untouched' if last else 'no checkpoint was saved before')
            ) from None

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        self._save_atomically(
            runner,
            filename,
            file_client_args=self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if not is_main_process():
            return
        self._point_at(runner, self.last_ckpt)
        outdated = [self.filename_tmpl.format(step) for step in outdated]
        for name in outdated + [name for name in os.listdir(self.out_dir) if name.startswith(PREEMPTED_PREFIX)]:
            path = osp.join(self.out_dir, name)
            if osp.isfile(path):
                os.remove(path)

    def save_preempted(self, runner, filename: str, meta: dict) -> str:
        """Save the run as it stands after this step into `filename` (atomically), with the optimiser and schedulers
        and `meta`, and point `last_checkpoint` at it; the next regular save removes it. Returns its path."""
        path = osp.join(self.out_dir, filename)
        self._save_atomically(
            runner, filename, meta=meta, by_epoch=False, save_optimizer=True, save_param_scheduler=True, **self.args
        )
        if is_main_process():
            self._point_at(runner, path)
        return path

    @staticmethod
    def _point_at(runner, path: str) -> None:
        write_text(osp.join(runner.work_dir, 'last_checkpoint'), osp.relpath(path, runner.work_dir))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """mmengine's, with the new best saved atomically before the previous one is removed."""
        if not self.save_best:
            return
        deferred = self.file_backend = _DeferredRemoval(self.file_backend)
        save = runner.save_checkpoint
        runner.save_checkpoint = lambda out_dir, filename, **kwargs: self._save_atomically(
            runner, filename, save=save, **kwargs
        )
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = deferred.backend
            del runner.save_checkpoint  # the Runner's own method again
        kept = {getattr(self, 'best_ckpt_path', None), *getattr(self, 'best_ckpt_path_dict', {}).values()}
        for path in deferred.removed:
            if path not in kept and osp.isfile(path) and is_main_process():
                os.remove(path)
                runner.logger.info(f'The previous best checkpoint {path} is removed')


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop the run at the first iteration whose training loss (or a loss term) is NaN or infinite, or before any
    checkpoint whose weights or buffers (BN statistics, an EMA copy) are not all finite, with one line naming the
    iteration and the terms or the first bad tensor, before that model is validated or saved: the last good checkpoint
    stays the latest and the best, and only a checkpoint whose tensors are all finite is ever called good. (A finite
    loss does not make finite weights: the last step of an epoch can break them after its loss was computed, and the
    epoch's checkpoint is saved before its validation.) A step that fp16's dynamic loss scaling skips (gradients
    overflow, the loss is finite) is normal training and passes."""

    priority = 'VERY_HIGH'  # after_train_iter: before the checkpoint hook and the loop's validation

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        terms = {key: float(torch.as_tensor(value).detach()) for key, value in (outputs or {}).items() if 'loss' in key}
        if all(math.isfinite(value) for value in terms.values()):
            return
        shown = ', '.join(f'{key} {value:.4g}' for key, value in terms.items())
        last = latest_checkpoint(runner.work_dir)
        raise NonFiniteLossError(
            f'iteration {runner.iter + 1}: the training loss is not finite ({shown}); stopped '
            f'before validating or saving it; the last good checkpoint is {last or "none"}'
        )

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for part in ('state_dict', 'ema_state_dict'):
            self._check(runner, part, checkpoint.get(part) or {})

    def before_val_epoch(self, runner) -> None:  # an epoch with no save before its validation
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._check(runner, 'state_dict', model.state_dict())

    @staticmethod
    def _check(runner, part: str, state: dict) -> None:
        for name, tensor in state.items():
            if torch.is_tensor(tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all():
                bad = int((~torch.isfinite(tensor)).sum())
                last = latest_checkpoint(runner.work_dir)
                raise NonFiniteWeightsError(
                    f'iteration {runner.iter}: {part} {name} has {bad} of {tensor.numel()} values not finite; '
                    f'stopped before saving or validating this model; the last good checkpoint is {last or "none"}'
                )


def process_start_time() -> float:
    """`time.time()` when this process started (Linux: from /proc, so imports count; elsewhere: when this module was
    imported)."""
    try:
        with open('/proc/self/stat') as f:
            ticks = int(f.read().rsplit(')', 1)[1].split()[19])  # field 22, starttime, in clock ticks since boot
        with open('/proc/stat') as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith('btime '))
        return boot + ticks / os.sysconf('SC_CLK_TCK')
    except (OSError, ValueError, IndexError, StopIteration):
        return _IMPORTED_AT


_IMPORTED_AT = time.time()


@HOOKS.register_module()
class TimeToAccuracyHook(Hook):
    """Time to accuracy, the record runs' measure: at every validation, the wall seconds since the process started
    (imports, data loading and evaluation included, as a user waits for them) beside `metric`, and, with a `target`,
    the first validation that reaches it. Logged (the seconds as a scalar beside the metrics), and kept in
    `work_dir/time_to_accuracy.json` (the ladder's results.json carries it). A resumed run keeps the entries of the
    run it resumes, each with the number of the process it came from, whose clock restarted.

    Every classification run has it (`default_hooks.time_to_accuracy` in configs/cls/_base_/default_runtime.py); a
    config sets its target by key: `default_hooks = dict(time_to_accuracy=dict(target=94))`."""

    priority = 'NORMAL'  # after_val_epoch: before the logger, which writes `scalar` with the metrics
    file_name = 'time_to_accuracy.json'
    # Beside the validation metrics in every tracker (engine.visualize); no 'time' in it, or mmengine's LogProcessor
    # would log its running mean (its mean_pattern).
    scalar = 'seconds_since_start'

    def __init__(self, target: float | None = None, metric: str = 'top1'):
        self.target, self.metric = target, metric
        self.started = process_start_time()

    def before_train(self, runner) -> None:
        self.path = osp.join(runner.work_dir, self.file_name)
        self.record = dict(metric=self.metric, target=self.target, reached=None, curve=[])
        if runner.iter > 0 and osp.isfile(self.path):  # resumed: keep what the earlier process saw up to here
            with open(self.path) as f:
                earlier = json.load(f)
            curve = [entry for entry in earlier['curve'] if entry['iter'] <= runner.iter]
            self.record.update(curve=curve, reached=next((e for e in curve if self._reaches(e['value'])), None))
        self.process = 1 + max((entry['process'] for entry in self.record['curve']), default=0)

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        if not is_main_process() or not hasattr(self, 'record') or self.metric not in (metrics or {}):
            return
        entry = dict(
            seconds=round(time.time() - self.started, 2),
            epoch=runner.epoch,
            iter=runner.iter,
            value=float(metrics[self.metric]),
            process=self.process,
        )
        self.record['curve'].append(entry)
        runner.message_hub.update_scalar(f'val/{self.scalar}', entry['seconds'])
        if self.record['reached'] is None and self._reaches(entry['value']):
            self.record['reached'] = entry
            runner.logger.info(
                f'time to {self.metric} {self.target:g}: {entry["seconds"]:.1f} s after the process '
                f'started (epoch {entry["epoch"]}, iteration {entry["iter"]}: {entry["value"]:.2f})'
            )
        else:
            target = '' if self.target is None else f' (target {self.target:g})'
            runner.logger.info(
                f'{self.metric} {entry["value"]:.2f} at {entry["seconds"]:.1f} s after the process started{target}'
            )
        write_json(self.path, self.record)

    def _reaches(self, value: float) -> bool:
        return self.target is not None and value >= self.target


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Make every checkpoint the Runner saves plain data (see `backbones.checkpoint`), with a digest of every tensor in
    its `meta`, which `load_checkpoint` checks: a flipped byte in the weights, the optimiser state or the EMA copy is
    then one line naming the file and the tensor, not a silently different model."""

    priority = 'LOWEST'  # after every other hook has added its part

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        plain = to_plain(checkpoint)
        plain.setdefault('meta', {})[DIGESTS] = tensor_digests(plain)
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


@FUNCTIONS.register_module()
def seed_worker(worker_id: int) -> None:
    """DataLoader `worker_init_fn` (`dict(type='tricks.seed_worker')`): seed python and numpy from the seed torch gave
    this worker (drawn from the main process when the workers start: mmengine's default gives every run's workers
    seed + worker id, and non-persistent workers would then repeat one epoch's augmentation), and end the worker
    with its parent."""
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)
    die_with_parent()


@HOOKS.register_module()
class ReseedHook(Hook):
    """Reseed python, numpy and torch from (seed, rank, epoch) before every epoch of an epoch-based run, and from
    (seed, rank, iteration) before every iteration of an iteration-based one. Augmentation, dropout, mixup, sampling in
    the heads: every draw then depends on where the run is, so a run resumed from its last checkpoint (an epoch's end,
    or any saved iteration) replays exactly what the uninterrupted run drew.

    What it needs of the data: for epoch-based runs, per-sample seeds (`cls.data.SeededSampler` with `ImageFolder`),
    or workers that start with each epoch (persistent_workers=False) and seed themselves from torch (`seed_worker`);
    for iteration-based ones at least one worker, since mmengine skips the data of a resumed run's past iterations by
    loading it, outside these seeds."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        seeded = isinstance(loader.sampler, SeededSampler) or not loader.persistent_workers
        if isinstance(runner.train_loop, EpochBasedTrainLoop) and not seeded:
            runner.logger.warning(
                "ReseedHook: train_dataloader.persistent_workers=True keeps each worker's random "
                'state across epochs, so a resumed run will not replay its augmentation exactly'
            )

    def before_train_epoch(self, runner) -> None:
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            reseed(runner.seed, get_rank(), 0, runner.epoch)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            reseed(runner.seed, get_rank(), 1, runner.iter)
