"""Exact resume: a run killed (SIGKILL) at an arbitrary iteration and resumed with --resume ends with the weights,
optimiser state and validation metrics of the uninterrupted run, bit for bit, for cls (epoch-based: it replays the
epoch it was killed in), det and seg (iteration-based: it continues from the last saved iteration). So does a run
stopped by a signal (engine/preemption.py), which saves after the step it was in, mid-epoch too: in one process, in
two under torchrun, and under tools/slurm_train.sh, which requeues it. CPU ops here are deterministic, so nothing less
than equality is accepted."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_distributed import free_port
from tool_env import tool_env

from backbones.checkpoint import latest_checkpoint
from datagen.demo_world import generate
from engine.preemption import PREEMPTED_EXIT

ROOT = Path(__file__).resolve().parents[1]
SAFETY = (
    "dict(type='tricks.NonFiniteLossHook'), dict(type='tricks.ReseedHook'), "
    "dict(type='tricks.PlainCheckpointHook'), dict(type='tricks.PreemptionHook'), dict(type='KillAtIteration'), "
    "dict(type='SignalAtIteration')"
)
CASES = {  # task: (config, extra hooks of its base, train options, checkpoint of the end)
    'cls': (
        'configs/cls/demo/resnet18d_cosine_ls_mixup.py',
        "dict(type='tricks.TrickCardHook'), ",
        [
            '--schedule-scale',
            str(3 / 50),
            '--cfg-options',
            'train_dataloader.dataset.indices=192',
            'val_dataloader.dataset.indices=64',
        ],
        'epoch_3.pth',
    ),
    'det': (
        'configs/det/demo/random_init.py',
        "dict(type='tricks.BackboneWeightsCheckHook'), ",
        ['--cfg-options', 'train_cfg.max_iters=6', 'train_cfg.val_interval=6', 'default_hooks.checkpoint.interval=2'],
        'iter_6.pth',
    ),
    'seg': (
        'configs/seg/demo/random_init.py',
        "dict(type='tricks.BackboneWeightsCheckHook'), ",
        ['--cfg-options', 'train_cfg.max_iters=6', 'train_cfg.val_interval=6', 'default_hooks.checkpoint.interval=2'],
        'iter_6.pth',
    ),
}
WALL_TIMES = ('time', 'data_time', 'seconds_since_start')  # logged beside the metrics; a clock, not a result
KILL_AT = {'cls': 5, 'det': 5, 'seg': 5}  # cls: 2 iterations an epoch, so in the middle of epoch 3


@pytest.fixture(scope='module')
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('world')
    generate(root, seed=0, scenes_train=40, scenes_val=8)
    return root


def wrapped_config(task: str, tmp_path: Path) -> Path:
    config, hooks, _, _ = CASES[task]
    wrapped = tmp_path / f'{task}.py'
    wrapped.write_text(
        f"_base_ = '{ROOT / config}'\n"
        f"custom_imports = dict(imports=['faults'], allow_failed_imports=False)\n"
        f'custom_hooks = [{hooks}{SAFETY}]\n'
    )
    return wrapped


def train_args(task: str, world: Path, tmp_path: Path, name: str, resume: bool, more: list[str]) -> list[str]:
    data_root = world / {'cls': 'cls', 'det': 'voc', 'seg': 'ade'}[task]
    return [
        str(wrapped_config(task, tmp_path)),
        '--work-dir',
        str(tmp_path / name),
        '--data-root',
        str(data_root),
        *(['--resume'] if resume else []),
        *CASES[task][2],
        *more,  # more --cfg-options (the task's options end with theirs)
    ]


def start(task: str, world: Path, tmp_path: Path, name: str, kill_at: int = 0, resume: bool = False,
          env: dict | None = None, more: list[str] = (), launcher: list[str] | None = None,
          ) -> tuple[subprocess.Popen, Path]:  # fmt: skip
    """The task's train tool (or `launcher` + its arguments) as a process in a session of its own: a signal to its
    process group reaches no one else."""
    argv = [
        *(launcher or [sys.executable, str(ROOT / f'tools/train_{task}.py')]),
        *train_args(task, world, tmp_path, name, resume, list(more)),
    ]
    env = tool_env(FAULT_KILL_AT_ITER=str(kill_at), **(env or {}))
    log = tmp_path / f'{name}.stderr'
    with open(log, 'a') as stderr:  # a file, not a pipe: no run waits for a reader while another one is awaited
        return subprocess.Popen(argv, stdout=stderr, stderr=stderr, env=env, cwd=tmp_path, start_new_session=True), log


def finish(run: subprocess.Popen, log: Path) -> tuple[int, str]:
    run.wait(timeout=300)
    return run.returncode, log.read_text()


def last_validation(work_dir: Path) -> dict:
    entries = [
        json.loads(line)
        for path in sorted(work_dir.glob('*/vis_data/scalars.json'))
        for line in path.read_text().splitlines()
    ]
    return [e for e in entries if 'loss' not in e][-1]


@pytest.mark.parametrize('task', list(CASES))
def test_a_run_killed_anywhere_and_resumed_ends_as_the_uninterrupted_run(task, world, tmp_path):
    whole = start(task, world, tmp_path, 'whole')  # side by side with the run to kill: one thread each
    killed = start(task, world, tmp_path, 'killed', kill_at=KILL_AT[task])
    returncode, stderr = finish(*killed)
    assert returncode == -9, stderr[-4000:]
    returncode, stderr = finish(*start(task, world, tmp_path, 'killed', resume=True))
    assert returncode == 0, stderr[-4000:]
    returncode, stderr = finish(*whole)
    assert returncode == 0, stderr[-4000:]

    assert_same_end(task, tmp_path / 'whole', tmp_path / 'killed')


def assert_same_end(task: str, whole: Path, resumed: Path) -> None:
    """The same weights, optimiser state and last validation, bit for bit."""
    final = CASES[task][3]
    a = torch.load(whole / final, weights_only=True)
    b = torch.load(resumed / final, weights_only=True)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    different = [k for k, v in a['state_dict'].items() if not torch.equal(v, b['state_dict'][k])]
    assert not different, different[:5]
    for group_a, group_b in zip(a['optimizer']['state'].values(), b['optimizer']['state'].values()):
        assert all(torch.equal(group_a[k], group_b[k]) for k in group_a)
    assert a['optimizer']['param_groups'] == b['optimizer']['param_groups']
    assert {k: v for k, v in last_validation(whole).items() if k not in WALL_TIMES} == {
        k: v for k, v in last_validation(resumed).items() if k not in WALL_TIMES
    }


SIGNALLED = {  # case: (task, signal, more --cfg-options)
    'cls-SIGTERM-seeded-sampler': ('cls', 'TERM', []),  # the skipped batches left out by the sampler
    'cls-SIGINT-plain-sampler': (  # loaded and dropped, which replays the workers' draws
        'cls',
        'INT',
        ['train_dataloader.sampler.type=DefaultSampler', 'train_dataloader.persistent_workers=False'],
    ),
    'det-SIGUSR1-iteration-based': ('det', 'USR1', []),
}
STOPPED = (
    r'stopped: SIG{signal} after iteration {done}{where}: saved {path}; run the same command with --resume to go on '
    r'from there \(exit status 75\)'
)


def stop_line(signal: str, task: str, saved: Path) -> str:
    where = r' \(epoch 3, batch 1\)' if task == 'cls' else ''  # cls: 2 batches an epoch
    return STOPPED.format(signal=signal, done=5, where=where, path=re.escape(str(saved)))


@pytest.mark.parametrize('task, signal, more', SIGNALLED.values(), ids=list(SIGNALLED))
def test_a_signalled_run_saves_after_its_step_and_resumes_as_the_uninterrupted_run(task, signal, more, world,
                                                                                   tmp_path):  # fmt: skip
    """The signal goes to the run's whole process group, DataLoader workers included, as Slurm and a terminal send
    it."""
    whole = start(task, world, tmp_path, 'whole', more=more)
    fault = dict(FAULT_SIGNAL_AT_ITER='5', FAULT_SIGNAL=signal)
    returncode, log = finish(*start(task, world, tmp_path, 'stopped', env=fault, more=more))
    saved = tmp_path / 'stopped' / 'preempted_iter_5.pth'
    assert returncode == PREEMPTED_EXIT, log[-4000:]
    assert re.fullmatch(stop_line(signal, task, saved), log.strip().splitlines()[-1]), log[-4000:]
    assert 'Traceback' not in log
    assert latest_checkpoint(str(tmp_path / 'stopped')) == str(saved)

    returncode, log = finish(*start(task, world, tmp_path, 'stopped', resume=True, more=more))
    assert returncode == 0, log[-4000:]
    assert not saved.exists()  # superseded by the next regular save
    returncode, log = finish(*whole)
    assert returncode == 0, log[-4000:]
    assert_same_end(task, tmp_path / 'whole', tmp_path / 'stopped')


def torchrun(processes: int) -> list[str]:
    """tools/dist_train.sh's launcher line, before the config (the script takes the config first)."""
    return [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={processes}',
            f'--master_port={free_port()}', str(ROOT / 'tools/train.py')]  # fmt: skip


def test_two_processes_stopped_by_sigterm_to_torchrun_save_the_same_step_and_resume_as_the_uninterrupted_pair(
    world, tmp_path
):
    """SIGTERM to torchrun, which passes it on to each rank's session (DataLoader workers too) and kills what has not
    ended after its grace (30 s): both ranks stop after the same step, one file holds both ranks' random states, and
    every process ends before the grace runs out."""
    # 32 images a process, 64 an iteration as in one process (2 an epoch)
    more = ['train_dataloader.batch_size=32', '--launcher', 'pytorch']
    whole = start('cls', world, tmp_path, 'whole', more=more, launcher=torchrun(2))
    fault = dict(FAULT_SIGNAL_AT_ITER='3', FAULT_SIGNAL='TERM', FAULT_SIGNAL_TO='parent')
    returncode, log = finish(*start('cls', world, tmp_path, 'stopped', env=fault, more=more, launcher=torchrun(2)))
    # torchrun passes the signal on as it shuts its workers down, which may be a step or two later: any step will do
    stopped = r'stopped: SIGTERM after iteration (\d) \(epoch (\d), batch (\d)\): saved (\S+); run the same command'
    stops = [m.groups() for m in map(re.compile(stopped).match, log.splitlines()) if m]
    assert len(stops) == 2 and stops[0] == stops[1], log[-4000:]  # both ranks, the same step
    done, epoch, batch, saved = stops[0]
    assert saved == str(tmp_path / 'stopped' / f'preempted_iter_{done}.pth'), log[-4000:]
    assert 'forcefully exiting' not in log  # no rank outlived torchrun's grace
    assert returncode != 0  # torchrun's own status after a signal (its SignalException)
    assert len(torch.load(saved, weights_only=True)['meta']['mid_epoch']['rng_states']) == 2

    returncode, log = finish(*start('cls', world, tmp_path, 'stopped', resume=True, more=more, launcher=torchrun(2)))
    assert returncode == 0 and f'resumed in the middle of epoch {epoch}, after batch {batch}' in log, log[-4000:]
    returncode, log = finish(*whole)
    assert returncode == 0, log[-4000:]
    assert_same_end('cls', tmp_path / 'whole', tmp_path / 'stopped')


FAKE_SRUN = """#!/usr/bin/env bash
# srun OPTIONS python ARGS: the options noted, the command run as the job's one task on this machine, in a process
# group of its own as a job step's (Slurm's --signal reaches the step's processes, not the script that ran srun)
while [ "$1" != python ]; do echo "$1" >> "$SLURM_CALLS"; shift; done
shift
export SLURM_PROCID=0 SLURM_NTASKS=1 SLURM_LOCALID=0 SLURM_NODELIST=node0 MASTER_ADDR=127.0.0.1
exec setsid "$PYTHON" "$@"
"""
FAKE_SCONTROL = """#!/usr/bin/env bash
if [ "$1 $2" = "show hostnames" ]; then echo node0; else echo "scontrol $*" >> "$SLURM_CALLS"; fi
"""


@pytest.mark.parametrize('inside_a_job', [True, False], ids=['sbatch-requeued', 'srun-from-a-login-node'])
def test_slurm_train_asks_for_usr1_ahead_requeues_on_a_stop_and_the_requeued_job_resumes(inside_a_job, world,
                                                                                         tmp_path):  # fmt: skip
    """tools/slurm_train.sh with stand-ins for srun and scontrol: SIGUSR1 after iteration 5. Inside a batch job the
    script requeues the job, and the requeued job (SLURM_RESTART_COUNT=1) resumes; from a login node it starts srun
    again with --resume. Either way the run ends as the uninterrupted one."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name, text in (('srun', FAKE_SRUN), ('scontrol', FAKE_SCONTROL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / 'slurm_calls'
    slurm = dict(PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}', SLURM_CALLS=str(calls), PYTHON=sys.executable,
                 MASTER_PORT=str(free_port()), **({'SLURM_JOB_ID': '42'} if inside_a_job else {}))  # fmt: skip
    script = ['bash', str(ROOT / 'tools/slurm_train.sh'), 'cpu', 'job']
    whole = start('cls', world, tmp_path, 'whole')
    fault = dict(FAULT_SIGNAL_AT_ITER='5', FAULT_SIGNAL='USR1', **slurm)
    returncode, log = finish(*start('cls', world, tmp_path, 'stopped', env=fault, launcher=script))
    assert returncode == 0, log[-4000:]
    assert '--signal=USR1@120' in calls.read_text().splitlines()
    if inside_a_job:
        assert 'requeueing job 42' in log and calls.read_text().splitlines()[-1] == 'scontrol requeue 42'
        requeued = dict(slurm, SLURM_RESTART_COUNT='1', MASTER_PORT=str(free_port()))
        returncode, log = finish(*start('cls', world, tmp_path, 'stopped', env=requeued, launcher=script))
        assert returncode == 0, log[-4000:]
    else:
        assert 'starting again with --resume' in log and 'scontrol requeue' not in calls.read_text()
    assert 'resumed in the middle of epoch 3, after batch 1' in log
    returncode, log = finish(*whole)
    assert returncode == 0, log[-4000:]
    assert_same_end('cls', tmp_path / 'whole', tmp_path / 'stopped')
