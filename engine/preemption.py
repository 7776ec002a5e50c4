"""Stopping as Slurm and torchrun ask: SIGTERM, SIGUSR1 (Slurm's `--signal=USR1@…` ahead of the time limit) or
SIGINT (Ctrl-C) make a run finish its current step, save a checkpoint it resumes from exactly, mid-epoch included,
and exit with `PREEMPTED_EXIT`; tools/slurm_train.sh requeues the job on that code.

- `PreemptionHook` notes the signal; after every step all ranks agree (one max all-reduce of the flag), so they stop
  after the same step; rank 0 writes `preempted_iter_<n>.pth` (atomically, through `tricks.CheckpointHook`) and
  points `last_checkpoint` at it, and every rank waits for that file before it exits.
- `EpochBasedTrainLoop` is mmengine's, and resumes from such a checkpoint in the middle of an epoch: it skips the
  batches the stopped run trained (in the sampler where the sampler can, else by loading them, as mmengine's
  iteration-based loop does) and restores the random state the stopped run had after its last step. `ReseedHook`
  reseeds every epoch's start, so nothing else is needed for the draws to be the uninterrupted run's.
"""

import os
import random
import signal
import threading
import time

import numpy as np
import torch
from mmengine.dist import all_gather_object, all_reduce, barrier, get_rank, get_world_size
from mmengine.hooks import IterTimerHook
from mmengine.runner import EpochBasedTrainLoop as MMEngineEpochBasedTrainLoop
from mmengine.runner import IterBasedTrainLoop as MMEngineIterBasedTrainLoop
from torch.utils.data import BatchSampler

from backbones.errors import UserError
from backbones.registry import HOOKS, LOOPS
from cls.data import SeededSampler

from .hooks import CheckpointHook, Hook

PREEMPTED_EXIT = 75  # sysexits.h EX_TEMPFAIL: stopped on request, a checkpoint saved; run it again with --resume
STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)
MID_EPOCH = 'mid_epoch'  # checkpoint meta: the batches of the epoch already trained, every rank's random state after


class Preempted(UserError):
    """A stop signal arrived; the run saved where it was and stops."""


def rng_state() -> dict:
    """Every generator a training step of this process draws from: python's, numpy's, torch's CPU and its GPU's."""
    return dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state(),
        cuda=torch.cuda.get_rng_state() if torch.cuda.is_available() else None,
    )


def set_rng_state(state: dict) -> None:
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(tuple(state['numpy']))
    torch.set_rng_state(state['torch'])
    if state['cuda'] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'])


class IgnoringStopSignals:
    """A DataLoader `worker_init_fn`: the worker ignores the stop signals unless its own process sends them, then
    `init_fn` runs. A scheduler signals a whole process group (torchrun: each rank's session), and torch's workers die
    of any SIGTERM, which fails the step the run was to finish ("DataLoader worker ... is killed by signal:
    Terminated"). A SIGTERM from the parent (its shutdown of the workers) still ends the worker, as torch's own
    handler does: a thread takes SIGTERM with its sender's PID (sigwaitinfo)."""

    def __init__(self, init_fn=None):
        self.init_fn = init_fn

    def __call__(self, worker_id: int) -> None:
        _ignore_usr1_and_int()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # every thread: only the one below receives it
        threading.Thread(target=_exit_on_sigterm_from, args=(os.getppid(),), daemon=True).start()
        if self.init_fn is not None:
            self.init_fn(worker_id)


def _ignore_usr1_and_int() -> None:
    """A worker's part of the stop signals its run acts on: none (SIGTERM: see the callers)."""
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _exit_on_sigterm_from(parent: int) -> None:
    while signal.sigwaitinfo({signal.SIGTERM}).si_pid != parent:
        pass
    os._exit(0)


def ignore_stop_signals_in_workers(loader) -> None:
    """`loader`'s workers, started from now on, ignore stop signals sent to their group (`IgnoringStopSignals`)."""
    if not isinstance(loader.worker_init_fn, IgnoringStopSignals):
        loader.worker_init_fn = IgnoringStopSignals(loader.worker_init_fn)


class _StopSafeWorkers:
    """A train loop whose DataLoader workers ignore stop signals sent to their group: set up before the loop starts
    them (mmengine's iteration-based loop does so when it is built, before any hook runs)."""

    def __init__(self, runner, dataloader, *args, **kwargs):
        if isinstance(dataloader, dict):  # built as mmengine's BaseLoop builds it
            diff_rank_seed = runner._randomness_cfg.get('diff_rank_seed', False)
            dataloader = runner.build_dataloader(dataloader, seed=runner.seed, diff_rank_seed=diff_rank_seed)
        ignore_stop_signals_in_workers(dataloader)
        super().__init__(runner, dataloader, *args, **kwargs)


def restart_iteration_clocks(runner) -> None:
    """Call when a resumed loop has skipped the batches trained before. mmengine's IterTimerHook times an iteration
    from the end of the one before (or from the epoch's start), so the skipping would count as the first iteration's
    time, and the ETA it logs (mean time per iteration since the start × iterations left) would stay too long for
    hundreds of iterations: mmengine's iteration-based loop loads and drops every past batch after the clock starts.
    Its clock (`t`) starts again here instead."""
    for hook in runner.hooks:
        if isinstance(hook, IterTimerHook):
            hook.t = time.time()


class _ClockAfterSkip:
    """The loop's batch iterator, which restarts the iteration clocks after the first `skip` batches it gives."""

    def __init__(self, batches, skip: int, runner):
        self.batches, self.skip, self.runner = batches, skip, runner

    def __iter__(self):
        return self

    def __next__(self):
        batch = next(self.batches)
        self.skip -= 1
        if self.skip == 0:
            restart_iteration_clocks(self.runner)
        return batch


@LOOPS.register_module()
class IterBasedTrainLoop(_StopSafeWorkers, MMEngineIterBasedTrainLoop):
    """mmengine's iteration-based loop (same arguments), whose workers outlive a stop signal to their group; its own
    resume (skipping the past iterations' batches by loading them) is exact with `ReseedHook`, and its ETA leaves the
    skipping out (`restart_iteration_clocks`)."""

    def run(self):
        if self._iter > 0:
            self.dataloader_iterator = _ClockAfterSkip(self.dataloader_iterator, self._iter, self.runner)
        return super().run()


class StopSignals:
    """Notes the first stop signal (`STOP_SIGNALS`) instead of dying of it, from `install()` to `restore()`; a second
    Ctrl-C raises KeyboardInterrupt. A process forked meanwhile gets the replaced handlers back at once, and with
    `workers_ignore` ignores SIGUSR1 and SIGINT as well (`_after_fork_in_child`)."""

    def __init__(self, workers_ignore: bool = False, on_first=None):
        self.workers_ignore = workers_ignore
        self.on_first = on_first  # called with the first signal, in the handler
        self.received: signal.Signals | None = None
        self.previous = {}

    def install(self) -> bool:
        """False where signals cannot be caught (not the main thread: a notebook's worker thread)."""
        try:
            self.previous = {sig: signal.signal(sig, self._note) for sig in STOP_SIGNALS}
        except ValueError:
            return False
        _INSTALLED.append(self)
        return True

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)  # None: one set outside python
        self.previous = {}
        if self in _INSTALLED:
            _INSTALLED.remove(self)

    def _note(self, signum, frame) -> None:
        if signum == signal.SIGINT and self.received == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C
        if self.received is None:
            self.received = signal.Signals(signum)
            if self.on_first is not None:
                self.on_first(self.received)


_INSTALLED: list[StopSignals] = []


def _after_fork_in_child() -> None:
    """No forked child keeps a python handler for the stop signals: a Pool worker waiting on its queue's lock can miss
    SIGTERM (the C handler runs just before sem_wait blocks), and its Pool's terminate() then waits for it forever.
    A run's workers (mmdet's VOC metric's Pool) ignore the group's SIGUSR1 and SIGINT, which their run acts on; a
    SIGTERM to the group still ends a Pool worker, and then its Pool never returns."""
    ignore = any(stop.workers_ignore for stop in _INSTALLED)
    for stop in list(_INSTALLED):
        stop.restore()
    if ignore:
        _ignore_usr1_and_int()


os.register_at_fork(after_in_child=_after_fork_in_child)


@HOOKS.register_module()
class PreemptionHook(Hook):
    """On SIGTERM, SIGUSR1 or SIGINT: finish the step, save an exact-resume checkpoint, exit with `PREEMPTED_EXIT`
    (`engine.cli.tool`). A second Ctrl-C stops at once. Every run through the suite's train tools has it. The train
    and val DataLoaders' workers ignore the signals (`IgnoringStopSignals`), other workers SIGUSR1 and SIGINT."""

    priority = 'LOWEST'  # after_train_iter: after the logger and the step's own checkpoint

    def __init__(self):
        self.signals = StopSignals(workers_ignore=True)  # the run's children are its workers

    def before_train(self, runner) -> None:
        for loop in (runner.train_loop, runner.val_loop):  # tricks.IterBasedTrainLoop did its own before its workers
            if getattr(loop, 'dataloader', None) is not None:
                ignore_stop_signals_in_workers(loop.dataloader)
        if not self.signals.install():
            runner.logger.warning('PreemptionHook: not in the main thread, so stop signals end the run at once')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        flag = torch.tensor([self.signals.received or 0])
        all_reduce(flag, op='max')  # every rank stops after the same step (the signal: the largest number any got)
        if flag.item():
            self._stop(runner, signal.Signals(int(flag.item())))

    def after_train(self, runner) -> None:
        self.signals.restore()

    def _stop(self, runner, received: signal.Signals) -> None:
        self.signals.restore()
        done = runner.iter + 1
        meta = dict(epoch=runner.epoch, iter=done)
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop):
            batches = done - runner.epoch * len(loop.dataloader)
            meta[MID_EPOCH] = dict(batches=batches, rng_states=all_gather_object(rng_state()))  # rank 0 saves all
        elif not isinstance(loop, MMEngineIterBasedTrainLoop):
            raise Preempted(
                f'{received.name} after iteration {done}: {type(loop).__name__} cannot resume in the middle of an '
                f'epoch, so nothing was saved; the last checkpoint is {runner.message_hub.get_info("last_ckpt")}'
            )
        saver = next((hook for hook in runner.hooks if isinstance(hook, CheckpointHook)), None)
        if saver is None:
            raise Preempted(f'{received.name} after iteration {done}: no tricks.CheckpointHook, so nothing was saved')
        path = saver.save_preempted(runner, f'preempted_iter_{done}.pth', meta)
        barrier()  # no rank exits (torchrun would then kill the others) before rank 0's file is in place
        where = f' (epoch {runner.epoch + 1}, batch {meta[MID_EPOCH]["batches"]})' if MID_EPOCH in meta else ''
        raise Preempted(
            f'{received.name} after iteration {done}{where}: saved {path}; '
            f'run the same command with --resume to go on from there (exit status {PREEMPTED_EXIT})'
        )

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        resume_at = checkpoint.get('meta', {}).get(MID_EPOCH)
        if not resume_at or not isinstance(runner.train_loop, EpochBasedTrainLoop):
            return
        states = resume_at['rng_states']
        if len(states) != get_world_size():
            runner.logger.warning(
                f'PreemptionHook: the checkpoint was saved by {len(states)} processes, this run has '
                f'{get_world_size()}: the rest of the epoch will not draw what the stopped run would have'
            )
        runner.train_loop.resume_at = (resume_at['batches'], states[get_rank()] if get_rank() < len(states) else None)


@LOOPS.register_module()
class EpochBasedTrainLoop(MMEngineEpochBasedTrainLoop):
    """mmengine's epoch-based loop (same arguments) that resumes in the middle of an epoch from a `PreemptionHook`
    checkpoint, and whose workers outlive a stop signal to their group. The tools use these two loops wherever a
    config asks for mmengine's."""

    resume_at = None  # (batches trained, this rank's random state or None), set by PreemptionHook

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')  # ReseedHook: the epoch's seeds
        self.runner.model.train()
        (skipped, state), self.resume_at = self.resume_at or (0, None), None
        batches = self._batches_after(skipped)
        if state is not None:
            set_rng_state(state)  # as the stopped run left it after its last step
        if skipped:
            self.runner.logger.info(f'resumed in the middle of epoch {self._epoch + 1}, after batch {skipped}')
        for idx, data_batch in enumerate(batches, start=skipped):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def _batches_after(self, skipped: int):
        """The epoch's batches from number `skipped` on. A `SeededSampler` whose batches are consecutive indices skips
        them unloaded (each sample's draws depend on its own seed); any other sampler loads and drops them, which
        replays its workers' draws."""
        loader = self.dataloader
        sampler, batch_sampler = loader.sampler, loader.batch_sampler
        if skipped and isinstance(sampler, SeededSampler) and type(batch_sampler) is BatchSampler:
            sampler.skip = skipped * batch_sampler.batch_size
            return iter(loader)
        batches = iter(loader)
        for _ in range(skipped):
            next(batches)
        if skipped:
            restart_iteration_clocks(self.runner)
        return batches
