"""Check the data and the machine before a run or a ladder: one line per finding, exit 0 only when all is well.

    python tools/preflight.py CONFIG_OR_LADDER [--work-dir DIR] [--samples N] [--counts full|any] [--data-root DIR]
                              [--nproc N]

CONFIG_OR_LADDER: a train config (cls, det or seg, by its default_scope) or a ladder config (configs/ladders/*.py,
every step as `tools/run_ladder.py` would run it, its data_roots applied). Lines start with ok:, info:, warning: or
problem:, then a summary; the exit status is 1 when there is a problem. `--counts any` checks the layout and the
samples only (a made-up or subset layout), and takes too few GPUs for a warning (a rehearsal on gloo CPU processes).
The checks: engine/preflight.py.
"""

import argparse
import sys
import warnings

from backbones.errors import UserError
from engine.cli import one_line
from engine.preflight import COUNT_MODES, Preflight, plan_runs, report, run_checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'config', help='a train config (configs/{cls,det,seg}/...) or a ladder config (configs/ladders/)'
    )
    parser.add_argument(
        '--work-dir', help="where the checkpoints go (default: the ladder's out, the config's work dir)"
    )
    parser.add_argument('--samples', type=int, default=8, metavar='N', help='images decoded per split (default 8)')
    parser.add_argument(
        '--counts',
        choices=COUNT_MODES,
        default='full',
        help='full: the published sizes must match (engine/standard_sets.py); any: layout and samples only',
    )
    parser.add_argument('--data-root', help='data_root of every dataset of a single config')
    parser.add_argument('--nproc', type=int, default=1, help='processes per node a single config runs with (default 1)')
    args = parser.parse_args(argv)
    if args.samples < 1 or args.nproc < 1:
        raise SystemExit(f'error: --samples and --nproc must be ≥ 1, got {args.samples} and {args.nproc}')
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated')  # mmengine reading `mmdet::` bases
    try:
        runs, work_dir, world = plan_runs(args.config, args.work_dir, args.data_root, args.nproc)
        return report(run_checks(Preflight(runs, work_dir, args.samples, args.counts, embedded_world=world)))
    except UserError as err:
        raise SystemExit(f'error: {one_line(err)}') from None


if __name__ == '__main__':
    sys.exit(main())
