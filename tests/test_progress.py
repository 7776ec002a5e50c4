"""Progress that stays true after `--resume`: the iteration and epoch counters of every log line, and the ETA, match
the uninterrupted run's at the same iteration; so does the ladder's progress line, which reads them.

The ETA is mmengine's: mean time per iteration since the process started × iterations left. On resume a loop skips
the batches trained before (mmengine's iteration-based loop by loading every one of them), and that skipping used to
count as the first iteration's time (engine.preemption.restart_iteration_clocks)."""

import datetime
import re

import pytest
from test_resume import CASES, finish, start, world  # noqa: F401  (world: the fixture)

from ladder.run import progress

HEADER = {  # one training line of mmengine's LogProcessor: its counters, then its ETA
    'det': re.compile(r'Iter\(train\) \[\s*(\d+)/(\d+)\].*?eta: (\S+)'),
    'cls': re.compile(r'Epoch\(train\)\s*\[(\d+)\]\[(\d+)/(\d+)\].*?eta: (\S+)'),
}


def lines(log: str, task: str) -> list[tuple]:
    return [m.groups() for m in map(HEADER[task].search, log.splitlines()) if m]


def seconds(eta: str) -> int:
    days, _, clock = eta.rpartition(' days, ') if 'day' in eta else ('0', '', eta)
    hours, minutes, secs = map(int, clock.split(':'))
    return int(datetime.timedelta(days=int(days or 0), hours=hours, minutes=minutes, seconds=secs).total_seconds())


@pytest.fixture
def det_12_iterations(monkeypatch):
    config, hooks, options, _ = CASES['det']
    longer = [o.replace('max_iters=6', 'max_iters=12').replace('val_interval=6', 'val_interval=12') for o in options]
    monkeypatch.setitem(CASES, 'det', (config, hooks, [*longer, 'default_hooks.logger.interval=1'], 'iter_12.pth'))


def test_after_resume_the_iteration_counter_and_eta_are_the_uninterrupted_runs(det_12_iterations, world, tmp_path):  # noqa: F811
    """Iteration-based det, stopped after iteration 6 of 12 and resumed: the resumed part skips 6 batches, each
    sample 50 ms slower to load (FAULT_SLOW_SAMPLE_S), so the skipping takes about 2.4 s against about 0.8 s an
    iteration here. Counting it made the first ETA after the resume 23 s where the uninterrupted run said 4 s."""
    slow = dict(FAULT_SLOW_SAMPLE_S='0.05')
    whole = start('det', world, tmp_path, 'whole', env=slow)
    stop = dict(FAULT_SIGNAL_AT_ITER='6', FAULT_SIGNAL='USR1', **slow)
    returncode, log = finish(*start('det', world, tmp_path, 'resumed', env=stop))
    assert returncode == 75, log[-3000:]
    log_file = tmp_path / 'resumed.stderr'
    assert (
        progress(str(tmp_path / 'resumed'), str(log_file), ('iter', 12)) == f'iter 6/12, eta {lines(log, "det")[-1][2]}'
    )
    returncode, log = finish(*start('det', world, tmp_path, 'resumed', resume=True, env=slow))
    assert returncode == 0, log[-3000:]
    returncode, whole_log = finish(*whole)
    assert returncode == 0, whole_log[-3000:]

    resumed, uninterrupted = lines(log, 'det'), lines(whole_log, 'det')
    assert (
        [line[:2] for line in resumed] == [line[:2] for line in uninterrupted] == [(str(i), '12') for i in range(1, 13)]
    )
    first_after = {line[0]: seconds(line[2]) for line in resumed[6:]}['7']
    same_step = {line[0]: seconds(line[2]) for line in uninterrupted}['7']
    # The two processes' iterations take the same time within this machine's noise (×2), and the ETA is printed in
    # whole seconds (+2); the skipping counted would add about 2.4 s × 5 iterations left.
    assert first_after <= 2 * same_step + 2, (resumed, uninterrupted)
    assert progress(str(tmp_path / 'resumed'), str(log_file), ('iter', 12)) == 'iter 12/12, eta 0:00:00'


def test_after_a_mid_epoch_resume_the_epoch_and_batch_counters_are_the_uninterrupted_runs(world, tmp_path):  # noqa: F811
    more = ['default_hooks.logger.interval=1']
    whole = start('cls', world, tmp_path, 'whole', more=more)
    stop = dict(FAULT_SIGNAL_AT_ITER='3', FAULT_SIGNAL='TERM')  # epoch 2, batch 1 of 2
    returncode, log = finish(*start('cls', world, tmp_path, 'resumed', env=stop, more=more))
    assert returncode == 75, log[-3000:]
    returncode, log = finish(*start('cls', world, tmp_path, 'resumed', resume=True, more=more))
    assert returncode == 0, log[-3000:]
    returncode, whole_log = finish(*whole)
    assert returncode == 0, whole_log[-3000:]
    expected = [(str(epoch), str(batch), '2') for epoch in (1, 2, 3) for batch in (1, 2)]
    assert [line[:3] for line in lines(whole_log, 'cls')] == expected
    assert [line[:3] for line in lines(log, 'cls')] == expected  # both parts, appended to one log
    log_file = str(tmp_path / 'resumed.stderr')
    assert progress(str(tmp_path / 'resumed'), log_file, ('epoch', 3)) == 'epoch 3/3, eta 0:00:00'
