"""`--vis tensorboard mlflow` (engine/visualize.py) on a run that a signal stops and `--resume` finishes: one
TensorBoard run and one MLflow run, each holding every scalar the run's own local log holds (loss and its parts, lr,
AGC's clipped fraction, top-1, the seconds since the process started), once per step, read back with TensorBoard's
reader and MLflow's client. No mocks: the real packages, a real SQLite store."""

import subprocess
import sys

import pytest
from test_resume import ROOT, finish, start, world  # noqa: F401  (world: the fixture)
from tool_env import tool_env
from trackers import mlflow_runs, tensorboard_scalars

from engine.preemption import PREEMPTED_EXIT
from ladder.cache import read_scalars

TRACKED = ['--vis', 'tensorboard', 'mlflow']
AGC = ['optim_wrapper.clip_grad.type=agc', 'optim_wrapper.clip_grad.clipping=0.01', 'default_hooks.logger.interval=1']
READ = {'loss', 'loss_cls', 'lr', 'agc_clipped_fraction', 'top1', 'top5', 'seconds_since_start'}


def test_a_stopped_and_resumed_run_is_one_tensorboard_run_and_one_mlflow_run_with_every_scalar(world, tmp_path):  # noqa: F811
    fault = dict(FAULT_SIGNAL_AT_ITER='3', FAULT_SIGNAL='TERM')  # epoch 2, batch 1 of 2
    returncode, log = finish(*start('cls', world, tmp_path, 'run', env=fault, more=[*AGC, *TRACKED]))
    assert returncode == PREEMPTED_EXIT, log[-3000:]
    returncode, log = finish(*start('cls', world, tmp_path, 'run', resume=True, more=[*AGC, *TRACKED]))
    assert returncode == 0, log[-3000:]

    work_dir = tmp_path / 'run'
    local = read_scalars(str(work_dir))  # mmengine's own log of both parts: what the trackers must hold
    train = {e['step']: e for e in local['train']}
    val = {e['step']: e for e in local['val']}
    assert sorted(train) == [1, 2, 3, 4, 5, 6] and sorted(val) == [1, 2, 3]
    assert all(0 <= e['agc_clipped_fraction'] <= 1 for e in train.values())

    # The run's name is its config's: the test's wrapped config is cls.py.
    board = tensorboard_scalars(work_dir / 'tensorboard' / 'cls')
    runs = mlflow_runs(work_dir / 'mlflow.db', experiment='run')  # the experiment: the --vis-dir's name
    assert set(runs) == {'cls'} and runs['cls']['status'] == 'FINISHED'  # the resumed part went on in the same run
    assert runs['cls']['artifact_uri'].startswith(str(work_dir))  # not in the current folder
    mlflow = runs['cls']['metrics']
    for tag in READ:
        logged = train if tag in train[1] else val
        expected = [(step, logged[step][tag]) for step in sorted(logged)]
        # TensorBoard stores float32; MLflow float64.
        assert board[tag] == [(s, pytest.approx(v, rel=1e-6)) for s, v in expected], tag
        assert mlflow[tag] == [(s, pytest.approx(v, rel=1e-12)) for s, v in expected], tag


def test_a_tracker_that_is_not_installed_or_not_known_is_one_line(tmp_path):
    """Without the package, one line says which and how to install it (a venv without the extras)."""
    config = str(ROOT / 'configs/cls/demo/resnet18b_standard.py')
    hide = tmp_path / 'sitecustomize.py'  # the interpreter starts without the tensorboard package
    hide.write_text('import sys\nsys.modules["tensorboard"] = None\n')
    env = tool_env()
    env['PYTHONPATH'] = f'{tmp_path}:{env["PYTHONPATH"]}'
    done = subprocess.run(
        [sys.executable, str(ROOT / 'tools/train_cls.py'), config, '--work-dir', str(tmp_path / 'w'), '--vis',
         'tensorboard'], capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "error: --vis tensorboard: the tensorboard package is not installed (pip install '.[tensorboard]'; "
        'tools/env.sh installs it)'
    )
    done = subprocess.run(
        [sys.executable, str(ROOT / 'tools/train_cls.py'), config, '--vis', 'wandb'],
        capture_output=True, text=True, env=tool_env(), timeout=120)  # fmt: skip
    assert done.returncode == 2 and "--vis: invalid choice: 'wandb'" in done.stderr
