"""A ladder config → the steps to run, in dependency order.

A ladder config (configs/ladders/*.py) lists the rows of a table, each a cls config and the configs of the tasks
that fine-tune its exported backbone (`engine.tasks`: det, seg); a row without cls is a random-init control, a row
with cls alone is a classification ablation (the CIFAR-10 page's). A distillation teacher named by a student's
`model.teacher.config` becomes a step of its own, before the student. Every step is a `RunSettings` of the ordinary
train tool, built here as data.

With `seeds=N` (or `tools/run_ladder.py --seeds N`) every step runs N times, with `randomness.seed` 0 … N−1: the seed
is part of the step's settings, hence of its card, so reuse and resume work seed by seed, and each seed's transfer
steps read that seed's backbone (a student, that seed's teacher). With one seed the steps keep their configs' own seed.
"""

import os.path as osp
from dataclasses import dataclass, field

from mmengine.config import Config

from backbones.errors import UserError
from engine.cli import RunSettings, load_config
from engine.tasks import TASKS, TRANSFER_TASKS

from .noise import TESTS

LADDER_KEYS = {
    'rows',
    'out',
    'embedded_world',
    'jobs',
    'threads',
    'nproc_per_node',
    'schedule_scale',
    'data_roots',
    'cfg_options',
    'seeds',
    'reference',
    'noise_test',
}
ROW_KEYS = {'name', 'paper', 'cls', *TRANSFER_TASKS}


class LadderError(UserError):
    """A ladder config or a step that cannot go on; the message is one line naming the file, key or step."""


@dataclass
class Step:
    task: str  # a key of engine.tasks.TASKS
    settings: RunSettings  # what its train tool runs (without --resume)
    needs: list[str] = field(default_factory=list)  # keys of the steps whose outputs this one reads
    nproc_per_node: int = 1
    seed: int | None = None  # the ladder's seed for it (None: the config's own)

    @property
    def name(self) -> str:
        return osp.splitext(osp.basename(self.settings.config))[0]

    @property
    def key(self) -> str:
        return step_key(self.task, self.settings.config, self.seed)

    @property
    def work_dir(self) -> str:
        return self.settings.work_dir

    def resolve(self) -> Config:
        """The config this step's train tool will run (same code path, no toolkit import)."""
        return load_config(TASKS[self.task], self.settings, register=False)


def step_key(task: str, config: str, seed: int | None) -> str:
    """'task/config name', and '/seed<k>' in a ladder of several seeds; also its folder under the ladder's out."""
    name = osp.splitext(osp.basename(config))[0]
    return f'{task}/{name}' + ('' if seed is None else f'/seed{seed}')


@dataclass
class Row:
    name: str
    paper: str | float | None  # a row of the task's paper table (engine.tasks), or the reference's top-1
    steps: dict[str, list[str]]  # task -> its step keys, one per seed


@dataclass
class Ladder:
    source: str
    out: str
    rows: list[Row]
    steps: dict[str, Step]  # in dependency order
    jobs: int = 1
    threads: int | None = None
    embedded_world: str | None = None
    seeds: tuple[int | None, ...] = (None,)
    reference: str | None = None  # where a row's numeric `paper` figure comes from
    noise_test: str = 'welch'  # a key of noise.TESTS: how the report calls a Δ real


def _per_task(cfg: Config, key: str, source: str) -> dict:
    value = cfg.get(key) or {}
    unknown = set(value) - set(TASKS)
    if unknown:
        raise LadderError(f'{source}: {key} has unknown task(s) {sorted(unknown)}; tasks are {sorted(TASKS)}')
    return value


def backbone_checkpoint_key(cfg: Config) -> str:
    """The config key that names the exported backbone a transfer config loads."""
    if cfg.model.backbone.get('type', '').endswith('ExportedBackbone'):
        return 'model.backbone.checkpoint'
    return 'model.backbone.init_cfg.checkpoint'


def plan(
    source: str,
    out: str | None = None,
    seeds: int | None = None,
    jobs: int | None = None,
    threads: int | None = None,
    vis: tuple[str, ...] = (),
) -> Ladder:
    """Read a ladder config and list its steps: for each seed, teachers, then each row's cls and transfer steps.
    `seeds`, `jobs` and `threads` (the command line's) override the config's. `vis`: experiment trackers, one run per
    step (named by its key) grouped under the ladder's folder (engine.visualize)."""
    if not osp.isfile(source):
        raise LadderError(f'ladder config {source} not found')
    cfg = Config.fromfile(source)
    unknown = set(cfg.keys()) - LADDER_KEYS
    if unknown:
        raise LadderError(f'{source}: unknown key(s) {sorted(unknown)}; a ladder config has {sorted(LADDER_KEYS)}')
    out = out or cfg.get('out') or osp.join('work_dirs', 'ladders', osp.splitext(osp.basename(source))[0])
    scale, data_roots, options = (_per_task(cfg, k, source) for k in ('schedule_scale', 'data_roots', 'cfg_options'))
    nproc = cfg.get('nproc_per_node') or 1
    count = seeds if seeds is not None else cfg.get('seeds', 1)
    if not isinstance(count, int) or count < 1:
        raise LadderError(f'{source}: seeds must be a whole number ≥ 1, got {count!r}')
    jobs = jobs if jobs is not None else cfg.get('jobs', 1)
    threads = threads if threads is not None else cfg.get('threads')
    for key, value, optional in (('jobs', jobs, False), ('threads', threads, True)):
        if not (optional and value is None) and (type(value) is not int or value < 1):
            raise LadderError(f'{source}: {key} must be a whole number ≥ 1, got {value!r}')
    noise_test = cfg.get('noise_test', 'welch')
    if noise_test not in TESTS:
        raise LadderError(f'{source}: noise_test must be one of {sorted(TESTS)}, got {noise_test!r}')
    steps: dict[str, Step] = {}

    def add(task: str, config: str, needs: list[str], seed: int | None, backbone_from: str | None = None) -> str:
        if not osp.isfile(config):
            raise LadderError(f'{source}: {task} config {config} not found')
        seeded = {} if seed is None else {'randomness.seed': seed}
        settings = RunSettings(
            config,
            work_dir=osp.join(out, step_key(task, config, seed)),
            data_root=data_roots.get(task),
            schedule_scale=scale.get(task),
            cfg_options=dict(options.get(task, {})) | seeded,
            launcher='pytorch' if nproc > 1 else 'none',
            vis=tuple(vis),
            vis_dir=out if vis else None,
            vis_run=step_key(task, config, seed) if vis else None,
        )
        step = Step(task, settings, needs, nproc, seed)
        if backbone_from:
            exported = osp.join(steps[backbone_from].work_dir, 'backbone.pth')
            settings.cfg_options[backbone_checkpoint_key(step.resolve())] = exported
        if task == 'cls':
            teacher = step.resolve().model.get('teacher')
            if teacher:  # train the teacher first, in this ladder, and point the student at it
                teacher_key = add('cls', teacher.config, [], seed)
                settings.cfg_options['model.teacher.checkpoint'] = steps[teacher_key].work_dir
                step.needs.append(teacher_key)
        try:
            settings.argv()  # every value, the paths built from `out` included, must survive the tool's command line
        except ValueError as err:
            raise LadderError(f'{source}: {task} {config}: {err}') from None
        if step.key in steps:
            if steps[step.key].settings != settings:
                raise LadderError(f'{source}: {step.key} appears twice with different settings')
            return step.key
        steps[step.key] = step
        return step.key

    seed_values = (None,) if count == 1 else tuple(range(count))
    rows = []
    for index, row in enumerate(cfg.get('rows') or []):
        where = f'{source}: rows[{index}]'
        if set(row) - ROW_KEYS or 'name' not in row:
            raise LadderError(
                f'{where}: keys {sorted(row)}; a row has name (required), paper, '
                f'{", ".join(sorted(ROW_KEYS - {"name", "paper"}))}'
            )
        if not any(row.get(t) for t in ('cls', *TRANSFER_TASKS)):
            raise LadderError(f'{where} ({row["name"]}): names no cls, {" or ".join(TRANSFER_TASKS)} config')
        keys: dict[str, list[str]] = {}
        for seed in seed_values:
            cls_key = add('cls', row['cls'], [], seed) if row.get('cls') else None
            if cls_key:
                keys.setdefault('cls', []).append(cls_key)
            for task in TRANSFER_TASKS:
                if row.get(task):
                    needs = [cls_key] if cls_key else []
                    keys.setdefault(task, []).append(add(task, row[task], needs, seed, backbone_from=cls_key))
        rows.append(Row(row['name'], row.get('paper'), keys))
    if not rows:
        raise LadderError(f'{source}: no rows')
    return Ladder(
        source,
        out,
        rows,
        steps,
        jobs,
        threads,
        cfg.get('embedded_world'),
        seed_values,
        cfg.get('reference'),
        noise_test,
    )
