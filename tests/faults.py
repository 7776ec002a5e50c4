"""Test-only fault injection, imported by a run's config (`custom_imports`), set by the environment:
- FAULT_KILL_AT_PUT=N: SIGKILL this process halfway through the Nth file it writes through mmengine's local file
  backend (every checkpoint save goes through it), the file left truncated as a real kill would leave it;
- FAULT_ENOSPC_AT_PUT=N: the Nth such write finds the disk full: half the file lands, then OSError(ENOSPC);
- FAULT_KILL_AT_ITER=N with the hook `dict(type='KillAtIteration')`: SIGKILL it right after training iteration N;
- FAULT_BREAK_AT_ITER=N with the hook `dict(type='BreakWeightsAtIteration')`: right after training iteration N (its
  loss finite), the model's first parameter becomes NaN, as a last step's exploding update leaves it;
- FAULT_SIGNAL_AT_ITER=N (and FAULT_SIGNAL=TERM, USR1 or INT; FAULT_SIGNAL_TO=group or parent) with the hook
  `dict(type='SignalAtIteration')`: rank 0 sends the signal to its own process group (what Slurm, a terminal's Ctrl-C
  or `kill -- -PGID` do) or to its parent (torchrun, which passes it on to every rank) right after iteration N;
- FAULT_SLOW_SAMPLE_S=S: every sample of an mmengine dataset (mmdet's and mmseg's) takes S seconds more to load, as
  a slow disk makes it."""

import errno
import os
import signal
import time

import torch
from mmengine.dataset import BaseDataset
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

KILL_AT = int(os.environ.get('FAULT_KILL_AT_PUT', '0'))
ENOSPC_AT = int(os.environ.get('FAULT_ENOSPC_AT_PUT', '0'))
_puts = 0
_put = LocalBackend.put


def _faulty_put(self, obj: bytes, filepath) -> None:
    global _puts
    _puts += 1
    if _puts not in (KILL_AT, ENOSPC_AT):
        return _put(self, obj, filepath)
    with open(filepath, 'wb') as f:  # half the file lands, as a kill or a full disk leaves it
        f.write(obj[: len(obj) // 2])
        f.flush()
        os.fsync(f.fileno())
    if _puts == KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(filepath))


LocalBackend.put = _faulty_put

SLOW_SAMPLE_S = float(os.environ.get('FAULT_SLOW_SAMPLE_S', '0'))
if SLOW_SAMPLE_S:
    _getitem = BaseDataset.__getitem__

    def _slow_getitem(self, idx: int) -> dict:
        time.sleep(SLOW_SAMPLE_S)
        return _getitem(self, idx)

    BaseDataset.__getitem__ = _slow_getitem


@HOOKS.register_module()
class KillAtIteration(Hook):
    """A hook (`dict(type='KillAtIteration')`): SIGKILL this process right after training iteration
    FAULT_KILL_AT_ITER (1-based), wherever in an epoch that falls."""

    priority = 'LOWEST'

    def __init__(self):
        self.at = int(os.environ.get('FAULT_KILL_AT_ITER', '0'))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.at:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class BreakWeightsAtIteration(Hook):
    """A hook (`dict(type='BreakWeightsAtIteration')`): NaN into the first parameter after training iteration
    FAULT_BREAK_AT_ITER (1-based)."""

    priority = 'LOWEST'

    def __init__(self):
        self.at = int(os.environ.get('FAULT_BREAK_AT_ITER', '0'))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.at:
            with torch.no_grad():
                next(runner.model.parameters()).fill_(float('nan'))


@HOOKS.register_module()
class SignalAtIteration(Hook):
    """A hook (`dict(type='SignalAtIteration')`): on rank 0, send SIG$FAULT_SIGNAL to the process group or the parent
    ($FAULT_SIGNAL_TO) right after training iteration FAULT_SIGNAL_AT_ITER (1-based)."""

    priority = 'HIGHEST'  # before the PreemptionHook looks for a signal after the same iteration

    def __init__(self):
        self.at = int(os.environ.get('FAULT_SIGNAL_AT_ITER', '0'))
        self.signal = getattr(signal, 'SIG' + os.environ.get('FAULT_SIGNAL', 'TERM'))
        self.to = os.environ.get('FAULT_SIGNAL_TO', 'group')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.at and runner.rank == 0:
            if self.to == 'parent':
                os.kill(os.getppid(), self.signal)
            else:
                os.killpg(os.getpgid(0), self.signal)
