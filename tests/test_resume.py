"""Exact resume: a run killed (SIGKILL) at an arbitrary iteration and resumed with --resume ends with the weights,
optimiser state and validation metrics of the uninterrupted run, bit for bit, for cls (epoch-based: it replays the
epoch it was killed in), det and seg (iteration-based: it continues from the last saved iteration). CPU ops here are
deterministic, so nothing less than equality is accepted."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tool_env import tool_env

from datagen.demo_world import generate

ROOT = Path(__file__).resolve().parents[1]
SAFETY = (
    "dict(type='tricks.NonFiniteLossHook'), dict(type='tricks.ReseedHook'), "
    "dict(type='tricks.PlainCheckpointHook'), dict(type='KillAtIteration')"
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
KILL_AT = {'cls': 5, 'det': 5, 'seg': 5}  # cls: 3 iterations an epoch, so in the middle of epoch 2


@pytest.fixture(scope='module')
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('world')
    generate(root, seed=0, scenes_train=40, scenes_val=8)
    return root


def start(task: str, world: Path, tmp_path: Path, name: str, kill_at: int = 0,
          resume: bool = False) -> tuple[subprocess.Popen, Path]:  # fmt: skip
    config, hooks, options, _ = CASES[task]
    wrapped = tmp_path / f'{task}.py'
    wrapped.write_text(
        f"_base_ = '{ROOT / config}'\n"
        f"custom_imports = dict(imports=['faults'], allow_failed_imports=False)\n"
        f'custom_hooks = [{hooks}{SAFETY}]\n'
    )
    data_root = world / {'cls': 'cls', 'det': 'voc', 'seg': 'ade'}[task]
    argv = [
        sys.executable,
        str(ROOT / f'tools/train_{task}.py'),
        str(wrapped),
        '--work-dir',
        str(tmp_path / name),
        '--data-root',
        str(data_root),
        *(['--resume'] if resume else []),
        *options,
    ]
    env = tool_env(FAULT_KILL_AT_ITER=str(kill_at))
    log = tmp_path / f'{name}.stderr'
    with open(log, 'w') as stderr:  # a file, not a pipe: no run waits for a reader while another one is awaited
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr, env=env), log


def finish(run: subprocess.Popen, log: Path) -> tuple[int, str]:
    run.wait(timeout=300)
    return run.returncode, log.read_text()[-3000:]


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
    assert returncode == -9, stderr
    returncode, stderr = finish(*start(task, world, tmp_path, 'killed', resume=True))
    assert returncode == 0, stderr
    returncode, stderr = finish(*whole)
    assert returncode == 0, stderr

    final = CASES[task][3]
    a = torch.load(tmp_path / 'whole' / final, weights_only=True)
    b = torch.load(tmp_path / 'killed' / final, weights_only=True)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    different = [k for k, v in a['state_dict'].items() if not torch.equal(v, b['state_dict'][k])]
    assert not different, different[:5]
    for group_a, group_b in zip(a['optimizer']['state'].values(), b['optimizer']['state'].values()):
        assert all(torch.equal(group_a[k], group_b[k]) for k in group_a)
    assert a['optimizer']['param_groups'] == b['optimizer']['param_groups']
    assert {k: v for k, v in last_validation(tmp_path / 'whole').items() if k not in ('time', 'data_time')} == {
        k: v for k, v in last_validation(tmp_path / 'killed').items() if k not in ('time', 'data_time')
    }
