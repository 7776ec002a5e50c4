"""Running a ladder's steps as subprocesses of the ordinary train tools, `jobs` at a time, longest chain first."""

import fcntl
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from mmengine.config import Config

from engine.host import die_with_parent
from engine.preemption import PREEMPTED_EXIT, StopSignals

from .cache import card, ensure_embedded_world, finish, prepare, read_scalars, reusable
from .plan import Ladder, LadderError, Step


class LadderStopped(LadderError):
    """A stop signal reached the ladder: its running steps saved where they were; the same command goes on."""


ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def command(step: Step, resume: bool) -> list[str]:
    """The step's train tool as a process: torchrun on `nproc_per_node` processes where that is more than one."""
    tool = osp.join(ROOT, 'tools', f'train_{step.task}.py')
    launch = (
        [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={step.nproc_per_node}']
        if step.nproc_per_node > 1
        else [sys.executable]
    )
    argv = step.settings.argv() + (['--resume'] if resume else [])
    return [*launch, tool, *argv]


@dataclass
class Running:
    step: Step
    card: dict
    process: subprocess.Popen
    log_file: str
    started: float
    length: tuple[str, int]  # ('epoch' | 'iter', total)


def _dies_with_the_ladder() -> None:
    """In each step's process, before it runs: SIGTERM when the ladder dies, however it dies (a kill by PID too),
    so no step goes on writing into a work dir that a rerun of the ladder would use (torchrun passes it on to its
    ranks; each run's work-dir lock refuses a second writer all the same, `engine.host.work_dir_lock`)."""
    die_with_parent(signal.SIGTERM)


def _length(cfg: Config) -> tuple[str, int]:
    loop = cfg.train_cfg
    return ('epoch', loop.max_epochs) if 'max_epochs' in loop else ('iter', loop.max_iters)


# A training line of mmengine's LogProcessor: `Epoch(train) [3][10/20] ... eta: ` + str(timedelta), e.g. '0:04:10',
# '2 days, 3:04:10' (a validation line has an eta of its own, for the validation).
ETA = re.compile(r'\(train\).*?eta: ((?:\d+ days?, )?\d+:\d\d:\d\d)')


def progress(work_dir: str, log_file: str, length: tuple[str, int]) -> str:
    """How far a run is, from its own logs: epochs or iterations done (every resumed part counted) and the ETA of its
    last log line (its train tool's, true after a resume: `engine.preemption.restart_iteration_clocks`)."""
    unit, total = length
    curves = read_scalars(work_dir)['train']
    done = curves[-1].get(unit, curves[-1]['step']) if curves else 0
    with open(log_file, 'rb') as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - 65536))  # the last lines are enough
        etas = ETA.findall(f.read().decode(errors='replace'))
    return f'{unit} {done}/{total}' + (f', eta {etas[-1]}' if etas else '')


def _last_line(path: str) -> str:
    """The last non-empty line of a run's log: for a failed run, the error it stopped with."""
    with open(path, errors='replace') as f:
        lines = [line.strip() for line in f if line.strip()]
    return lines[-1] if lines else '(empty log)'


def metrics_text(result: dict) -> str:
    text = '  '.join(f'{k} {v:.2f}' for k, v in result['metrics'].items())
    if 'diverged_at' in result:
        text += f'  (loss not finite from iteration {result["diverged_at"]})'
    return text


def weak_teachers(ladder: Ladder, results: dict) -> list[str]:
    """A line for each distillation student whose teacher's top-1 is not above its own: such a teacher cannot show
    what the paper's does (its ResNet-152-D teacher is 3 points above the student)."""
    lines = []
    for key, step in ladder.steps.items():
        for teacher in (k for k in step.needs if step.task == 'cls' and k.startswith('cls/')):
            student_top1 = results.get(key, {}).get('metrics', {}).get('top1')
            teacher_top1 = results.get(teacher, {}).get('metrics', {}).get('top1')
            if student_top1 is not None and teacher_top1 is not None and teacher_top1 <= student_top1:
                lines.append(
                    f'{key}: its teacher {teacher} reached top-1 {teacher_top1:.2f}, not above the '
                    f"student's {student_top1:.2f}: the distillation row cannot show a teacher teaching"
                )
    return lines


def run(ladder: Ladder, log=print, poll_s: float = 2.0, progress_every_s: float = 30.0) -> dict:
    """Run every step (reusing and resuming what it can) and return the results by step key.

    A failed step stops only the steps that need it; the rest of the ladder goes on, and the failure is reported.
    On SIGTERM, SIGUSR1 or SIGINT the ladder starts no more steps, passes SIGTERM on to the running ones, which save
    after their current step (`engine.preemption`), waits for them and raises `LadderStopped`."""
    os.makedirs(ladder.out, exist_ok=True)
    running: list[Running] = []

    def pass_on(received: signal.Signals) -> None:  # at once: a step may be in its last step
        for run_ in running:
            run_.process.send_signal(signal.SIGTERM)  # torchrun passes it on to its ranks

    signals = StopSignals(on_first=pass_on)
    signals.install()
    try:
        with open(osp.join(ladder.out, '.lock'), 'w') as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LadderError(f'{ladder.out}: another ladder is running there') from None
            world = ensure_embedded_world(ladder.embedded_world, log) if ladder.embedded_world else None
            results = _run_steps(ladder, log, poll_s, progress_every_s, world, signals, running)
    finally:
        signals.restore()
    stopped = [key for key, result in results.items() if result.get('stopped')]
    if signals.received and (stopped or len(results) < len(ladder.steps)):
        done = [key for key, result in results.items() if 'error' not in result]
        raise LadderStopped(
            f'{signals.received.name}: {len(stopped)} running step(s) saved where they were'
            + (f' ({", ".join(stopped)})' if stopped else '')
            + f', {len(done)} of {len(ladder.steps)} done; run the same command again to go on'
        )
    for line in weak_teachers(ladder, results):
        log(f'WARNING {line}')
    return results


def critical_first(steps: dict[str, Step]) -> list[Step]:
    """Steps ordered by the longest chain of steps waiting on them (a teacher first), then in plan order."""
    height: dict[str, int] = {}
    for key in reversed(list(steps)):  # dependents come after what they need
        height[key] = 1 + max((height[k] for k, s in steps.items() if key in s.needs), default=0)
    return sorted(steps.values(), key=lambda s: -height[s.key])


def _run_steps(ladder: Ladder, log, poll_s: float, progress_every_s: float, world: dict | None,
               signals: StopSignals, running: list[Running]) -> dict:  # fmt: skip
    env = dict(os.environ)
    if ladder.threads:
        env.update(OMP_NUM_THREADS=str(ladder.threads), MKL_NUM_THREADS=str(ladder.threads))
    pending = critical_first(ladder.steps)
    cards, results = {}, {}
    start = last_progress = time.monotonic()
    total = len(pending)

    def say(text):
        log(f'[{time.monotonic() - start:5.0f} s] {text}')

    said = False
    while (pending and not signals.received) or running:
        if signals.received and not said:
            said = True
            say(f'{signals.received.name}: no more steps start; the {len(running)} running save after their step')
        for step in [] if signals.received else list(pending):
            if any(key in results and 'error' in results[key] for key in step.needs):
                pending.remove(step)
                results[step.key] = dict(error=f'skipped: {", ".join(step.needs)} failed')
                say(f'skip   {step.key} (needs a failed step)')
                continue
            if len(running) >= ladder.jobs or not all(key in results for key in step.needs):
                continue
            pending.remove(step)
            cfg = step.resolve()
            step_card = cards[step.key] = card(step, cfg, cards, world)
            record = reusable(step, step_card)
            if record:
                results[step.key] = record['result'] | dict(reused=True)
                say(f'reuse  {step.key}  {metrics_text(record["result"])}')
                continue
            resume = prepare(step, step_card, say)
            log_file = osp.join(step.work_dir, 'ladder_train.log')
            with open(log_file, 'a') as out:
                process = subprocess.Popen(
                    command(step, resume),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=os.getcwd(),
                    preexec_fn=_dies_with_the_ladder,
                )
            running.append(Running(step, step_card, process, log_file, time.monotonic(), _length(cfg)))
            if signals.received:  # it came while this one started
                process.send_signal(signal.SIGTERM)
            done = total - len(pending) - len(running)
            say(f'{"resume" if resume else "start "} {step.key}  ({done} of {total} steps done, log: {log_file})')
        for run_ in list(running):
            code = run_.process.poll()
            if code is None:
                continue
            running.remove(run_)
            wall = time.monotonic() - run_.started
            if code == PREEMPTED_EXIT:
                results[run_.step.key] = dict(error=f'stopped with a checkpoint; see {run_.log_file}', stopped=True)
                say(f'saved  {run_.step.key}: {_last_line(run_.log_file)}')
                continue
            if code != 0:
                results[run_.step.key] = dict(error=f'exit code {code}; see {run_.log_file}')
                say(f'FAILED {run_.step.key} (exit {code}): {_last_line(run_.log_file)}')
                continue
            try:
                results[run_.step.key] = finish(run_.step, run_.card, wall)['result'] | dict(reused=False)
            except LadderError as err:
                results[run_.step.key] = dict(error=str(err))
                say(f'FAILED {err}')
                continue
            say(f'done   {run_.step.key}  {metrics_text(results[run_.step.key])}  ({wall:.0f} s)')
        if running and time.monotonic() - last_progress >= progress_every_s:
            last_progress = time.monotonic()
            say(
                'running: '
                + ', '.join(f'{r.step.key} {progress(r.step.work_dir, r.log_file, r.length)}' for r in running)
            )
        if running:
            time.sleep(poll_s)
    return results
