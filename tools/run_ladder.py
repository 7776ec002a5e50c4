"""Run a transfer ladder end to end and write its report.

    python tools/run_ladder.py [--config configs/ladders/demo.py] [--out DIR] [--jobs N] [--threads T] [--seeds N]
                               [--vis tensorboard mlflow]

For each row of the ladder config: train the cls recipe (and its distillation teacher), export the backbone,
fine-tune Faster R-CNN and FCN on it; a row without cls is the random-init control, a row with cls alone a
classification ablation. With --seeds N every step runs with seeds 0 … N-1. Then DIR/results.md (the rows' tables,
mean ± std over seeds, our numbers beside the paper's), DIR/results.json and DIR/*.png. Finished steps with the same
recipe are reused and an interrupted ladder resumes where it stopped: run the same command again. On SIGTERM,
SIGUSR1 or Ctrl-C the running steps save after their current step and the ladder exits 75. Each step's own
log is DIR/<task>/<config name>[/seed<k>]/ladder_train.log.
"""

import argparse
import shlex
import sys
import time
import warnings

from engine.preemption import PREEMPTED_EXIT
from engine.visualize import TRACKERS
from ladder import report
from ladder.costs import print_plan
from ladder.plan import LadderError, plan
from ladder.run import LadderStopped, run


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', default='configs/ladders/demo.py', help='ladder config (configs/ladders/)')
    parser.add_argument('--out', help="output folder (default: the config's `out`, or work_dirs/ladders/<name>)")
    parser.add_argument('--jobs', type=int, help="runs at a time (default: the config's `jobs`)")
    parser.add_argument('--threads', type=int, help="torch threads per run (default: the config's `threads`)")
    parser.add_argument('--seeds', type=int, help="run every step with seeds 0 … N-1 (default: the config's `seeds`)")
    parser.add_argument(
        '--vis',
        nargs='+',
        choices=TRACKERS,
        default=(),
        help='experiment trackers: one run per step, grouped under DIR (DIR/tensorboard/<step>, DIR/mlflow.db)',
    )
    parser.add_argument(
        '--plan', action='store_true', help='print the cost plan (ladder/costs.py) and exit: nothing is trained'
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated')  # mmengine reading `mmdet::` bases
    start = time.monotonic()
    try:
        ladder = plan(args.config, args.out, args.seeds, args.jobs, args.threads, tuple(args.vis))
        if args.plan:
            print_plan(ladder)
            return {}
        print(
            f'ladder {args.config}: {len(ladder.rows)} rows, {len(ladder.steps)} steps, {ladder.jobs} at a time'
            + (f', {ladder.threads} thread(s) each' if ladder.threads else '')
            + f' → {ladder.out}',
            flush=True,
        )
        results = run(ladder, log=lambda text: print(text, flush=True))
    except LadderStopped as err:
        print(f'stopped: {err}', file=sys.stderr)
        raise SystemExit(PREEMPTED_EXIT) from None
    except LadderError as err:
        raise SystemExit(f'error: {err}') from None
    command = shlex.join(['python', 'tools/run_ladder.py', *(sys.argv[1:] if argv is None else argv)])
    data = report.write(ladder, results, time.monotonic() - start, command)
    print(f'{ladder.out}/results.md, results.json, *.png written ({time.monotonic() - start:.0f} s)')
    failed = [key for key, step in data['steps'].items() if 'error' in step]
    if failed:
        raise SystemExit(f'error: {len(failed)} step(s) did not finish: {", ".join(failed)}')
    return data


if __name__ == '__main__':
    main()
