"""tricks.TimeToAccuracyHook: wall seconds since the process started at each validation, the first to reach the
target, kept across a resume."""

import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from mmengine.logging import MessageHub, MMLogger

from engine.hooks import TimeToAccuracyHook

ROOT = Path(__file__).resolve().parents[1]


def fake_runner(work_dir: Path, epoch: int = 0, iteration: int = 0) -> SimpleNamespace:
    """What the hook uses of mmengine's Runner: where to write, where the run is, its logger and message hub."""
    return SimpleNamespace(
        work_dir=str(work_dir),
        epoch=epoch,
        iter=iteration,
        logger=MMLogger.get_instance('tta'),
        message_hub=MessageHub.get_instance(f'tta-{work_dir}'),
    )


def validate(hook, runner, epoch: int, top1: float) -> None:
    runner.epoch, runner.iter = epoch, epoch * 10
    hook.after_val_epoch(runner, dict(top1=top1, top5=99.0))


def test_the_clock_starts_with_the_process_so_imports_count():
    code = 'import time; time.sleep(1.5); from engine.hooks import process_start_time as t; print(time.time() - t())'
    done = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert 1.5 <= float(done.stdout) < 60  # the 1.5 s before the import are counted


def test_every_validation_is_timed_and_the_first_to_reach_the_target_is_kept(tmp_path):
    hook, runner = TimeToAccuracyHook(target=91), fake_runner(tmp_path)
    hook.before_train(runner)
    before = time.time() - hook.started
    for epoch, top1 in enumerate([60.0, 91.0, 90.5, 93.0], start=1):
        validate(hook, runner, epoch, top1)
    record = json.loads((tmp_path / 'time_to_accuracy.json').read_text())
    assert [entry['value'] for entry in record['curve']] == [60.0, 91.0, 90.5, 93.0]
    seconds = [entry['seconds'] for entry in record['curve']]
    assert seconds == sorted(seconds) and seconds[0] >= round(before, 2) - 0.01
    # Each validation's seconds go to the logger beside its metrics (and from there to every tracker).
    assert runner.message_hub.get_scalar('val/seconds_since_start').data[0].tolist() == seconds
    assert record['reached'] == record['curve'][1] and record['reached']['epoch'] == 2  # ≥ target counts, once
    untargeted = TimeToAccuracyHook()
    untargeted.before_train(fake_runner(tmp_path / 'b'))
    (tmp_path / 'b').mkdir()
    validate(untargeted, fake_runner(tmp_path / 'b'), 1, 99.0)
    assert json.loads((tmp_path / 'b' / 'time_to_accuracy.json').read_text())['reached'] is None


def test_a_resumed_run_keeps_the_entries_up_to_its_checkpoint_and_numbers_its_process(tmp_path):
    first = TimeToAccuracyHook(target=91)
    runner = fake_runner(tmp_path)
    first.before_train(runner)
    for epoch, top1 in enumerate([92.0, 93.0, 94.0], start=1):
        validate(first, runner, epoch, top1)
    resumed, runner = TimeToAccuracyHook(target=91), fake_runner(tmp_path, epoch=2, iteration=20)  # from epoch 2
    resumed.before_train(runner)
    validate(resumed, runner, 3, 90.0)
    record = json.loads((tmp_path / 'time_to_accuracy.json').read_text())
    assert [(e['epoch'], e['value'], e['process']) for e in record['curve']] == [
        (1, 92.0, 1),
        (2, 93.0, 1),
        (3, 90.0, 2),
    ]
    assert record['reached']['epoch'] == 1
