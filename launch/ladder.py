"""The transfer ladder: for each backbone recipe, train cls → export → fine-tune det and seg; then the report.

A ladder config (configs/ladders/*.py) lists the rows of the paper's Tables 8/9, each a cls config and the det/seg
configs that load its exported backbone; a row without cls is a random-init control. `plan` turns it into steps in
dependency order (a distillation teacher before its student, cls before det/seg) and `run` executes them as
subprocesses of the ordinary train tools, `jobs` at a time.

Every step lives in OUT/<task>/<config name>. Its card (the resolved config's digest, the trick card for cls, and the
cards of the steps it reads) is written there when it starts (`ladder_card.json`) and, with its metrics, when it
ends (`ladder_step.json`). A step whose finished record has the same card is reused; one that started with the same
card resumes from its last checkpoint (`--resume`); an earlier run with another card is moved aside, never deleted.
"""
import fcntl
import hashlib
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from dataclasses import dataclass, field

from mmengine.config import Config
from mmengine.runner.checkpoint import find_latest_checkpoint

from backbones.checkpoint import atomic_write, export_backbone, load_checkpoint
from cls.demo_world import VERSION as WORLD_VERSION, generate
from cls.trick_card import planned_amp_dtype, trick_card
from launch.cli import TASKS, load_config, parse_args

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
LADDER_KEYS = {'rows', 'out', 'embedded_world', 'jobs', 'threads', 'nproc_per_node', 'schedule_scale', 'data_roots',
               'cfg_options'}
ROW_KEYS = {'name', 'paper', 'cls', 'det', 'seg'}
TRANSFER_TASKS = ('det', 'seg')
CARD_FILE, RECORD_FILE = 'ladder_card.json', 'ladder_step.json'


class LadderError(ValueError):
    """A ladder config or a step that cannot go on; the message is one line naming the file, key or step."""


@dataclass
class Step:
    task: str                  # 'cls', 'det' or 'seg'
    config: str
    work_dir: str
    needs: list[str] = field(default_factory=list)   # keys of the steps whose outputs this one reads
    cfg_options: dict = field(default_factory=dict)
    data_root: str | None = None
    schedule_scale: float | None = None
    nproc_per_node: int = 1

    @property
    def name(self) -> str:
        return osp.splitext(osp.basename(self.config))[0]

    @property
    def key(self) -> str:
        return f'{self.task}/{self.name}'

    def argv(self) -> list[str]:
        """The train tool's arguments (without --resume)."""
        argv = [self.config, '--work-dir', self.work_dir]
        if self.data_root:
            argv += ['--data-root', self.data_root]
        if self.schedule_scale:
            argv += ['--schedule-scale', str(self.schedule_scale)]
        if self.cfg_options:
            argv += ['--cfg-options', *(f'{k}={_option(v)}' for k, v in self.cfg_options.items())]
        if self.nproc_per_node > 1:
            argv += ['--launcher', 'pytorch']
        return argv

    def command(self, resume: bool) -> list[str]:
        tool = osp.join(ROOT, 'tools', f'train_{self.task}.py')
        launch = ([sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={self.nproc_per_node}']
                  if self.nproc_per_node > 1 else [sys.executable])
        return [*launch, tool, *self.argv(), *(['--resume'] if resume else [])]

    def resolve(self) -> Config:
        """The config this step's train tool will run (same code path, no toolkit import)."""
        return load_config(TASKS[self.task], parse_args('train', self.argv()), register=False)


@dataclass
class Row:
    name: str
    paper: str | None
    steps: dict[str, str]      # task -> step key


@dataclass
class Ladder:
    source: str
    out: str
    rows: list[Row]
    steps: dict[str, Step]     # in dependency order
    jobs: int = 1
    threads: int | None = None
    embedded_world: str | None = None


def _option(value) -> str:
    if isinstance(value, (list, tuple)):
        return '[' + ','.join(_option(v) for v in value) + ']'
    text = str(value)
    if isinstance(value, str) and (',' in text or ' ' in text):
        raise LadderError(f'cfg_options value {text!r}: commas and spaces cannot pass through --cfg-options')
    return text


def _per_task(cfg: Config, key: str, source: str) -> dict:
    value = cfg.get(key) or {}
    unknown = set(value) - set(TASKS)
    if unknown:
        raise LadderError(f'{source}: {key} has unknown task(s) {sorted(unknown)}; tasks are {sorted(TASKS)}')
    return value


def plan(source: str, out: str | None = None) -> Ladder:
    """Read a ladder config and list its steps: teachers, then each row's cls, det and seg."""
    if not osp.isfile(source):
        raise LadderError(f'ladder config {source} not found')
    cfg = Config.fromfile(source)
    unknown = set(cfg.keys()) - LADDER_KEYS
    if unknown:
        raise LadderError(f'{source}: unknown key(s) {sorted(unknown)}; a ladder config has {sorted(LADDER_KEYS)}')
    out = out or cfg.get('out') or osp.join('work_dirs', 'ladders', osp.splitext(osp.basename(source))[0])
    scale, data_roots, options = (_per_task(cfg, k, source) for k in ('schedule_scale', 'data_roots', 'cfg_options'))
    nproc = cfg.get('nproc_per_node') or 1
    steps: dict[str, Step] = {}

    def add(task: str, config: str, cfg_options: dict, needs: list[str]) -> str:
        if not osp.isfile(config):
            raise LadderError(f'{source}: {task} config {config} not found')
        step = Step(task, config, '', needs, {**options.get(task, {}), **cfg_options}, data_roots.get(task),
                    scale.get(task), nproc)
        step.work_dir = osp.join(out, task, step.name)
        if step.key in steps:
            if steps[step.key].argv() != step.argv():
                raise LadderError(f'{source}: {step.key} appears twice with different settings')
            return step.key
        if task == 'cls':
            teacher = step.resolve().model.get('teacher')
            if teacher:  # train the teacher first, in this ladder, and point the student at it
                teacher_key = add('cls', teacher.config, {}, [])
                step.cfg_options['model.teacher.checkpoint'] = steps[teacher_key].work_dir
                step.needs.append(teacher_key)
        steps[step.key] = step
        return step.key

    rows = []
    for index, row in enumerate(cfg.get('rows') or []):
        where = f'{source}: rows[{index}]'
        if set(row) - ROW_KEYS or 'name' not in row:
            raise LadderError(f'{where}: keys {sorted(row)}; a row has name (required), paper, cls, det, seg')
        if not any(row.get(t) for t in TRANSFER_TASKS):
            raise LadderError(f'{where} ({row["name"]}): names neither a det nor a seg config')
        keys = {}
        if row.get('cls'):
            keys['cls'] = add('cls', row['cls'], {}, [])
        for task in TRANSFER_TASKS:
            if row.get(task):
                backbone = ({'model.backbone.init_cfg.checkpoint': osp.join(steps[keys['cls']].work_dir, 'backbone.pth')}
                            if 'cls' in keys else {})
                keys[task] = add(task, row[task], backbone, [keys['cls']] if 'cls' in keys else [])
        rows.append(Row(row['name'], row.get('paper'), keys))
    if not rows:
        raise LadderError(f'{source}: no rows')
    jobs = int(cfg.get('jobs') or 1)
    return Ladder(source, out, rows, steps, jobs, cfg.get('threads'), cfg.get('embedded_world'))


# ---------------------------------------------------------------------------------------------------------------------
# Cards and records

def _digest(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def card(step: Step, cfg: Config, cards: dict[str, dict], world: dict | None = None) -> dict:
    """What makes a finished step reusable: its resolved config `cfg`, its recipe, the cards of the steps it reads
    and, on the embedded world, that world's meta.json (its generator version, seed and counts)."""
    result = dict(task=step.task, config=step.config, config_digest=_digest(cfg.to_dict()),
                  inputs={key: cards[key]['digest'] for key in step.needs})
    if world is not None:
        result['world_digest'] = _digest(world)
    if step.task == 'cls':
        result['trick_card'] = trick_card(cfg, step.nproc_per_node, planned_amp_dtype(cfg))
    result['digest'] = _digest(result)
    return result


def _read_json(path: str) -> dict | None:
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_json(path: str, data) -> None:
    def write(tmp):
        with open(tmp, 'w') as f:
            json.dump(data, f, indent=1, default=str)
    atomic_write(path, write)


def read_scalars(work_dir: str) -> dict:
    """mmengine's scalar logs of a run (every resumed part; later parts win): train entries and val entries."""
    train, val = {}, {}
    for stamp in sorted(os.listdir(work_dir)) if osp.isdir(work_dir) else []:
        path = osp.join(work_dir, stamp, 'vis_data', 'scalars.json')
        if not osp.isfile(path):
            continue
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                (train if 'loss' in entry else val)[entry['step']] = entry
    return dict(train=[train[k] for k in sorted(train)], val=[val[k] for k in sorted(val)])


METRICS = {  # what the report shows of each task's last validation: column -> (mmengine metric name or suffix, factor)
    'cls': {'top1': ('top1', 1)},
    'det': {'mAP': ('mAP', 100)},          # mmdet reports mAP as a fraction; the paper and mmseg in percent
    'seg': {'pixAcc': ('aAcc', 1), 'mIoU': ('mIoU', 1)},
}


def final_metrics(task: str, curves: dict, where: str) -> dict:
    if not curves['val']:
        raise LadderError(f'{where}: the run logged no validation')
    last = curves['val'][-1]
    metrics = {}
    for column, (name, factor) in METRICS[task].items():
        found = [k for k in last if k == name or k.endswith('/' + name)]
        if not found:
            raise LadderError(f'{where}: the last validation has no {name!r} (it has {sorted(last)})')
        metrics[column] = round(float(last[found[0]]) * factor, 4)
    return metrics


def diverged_at(curves: dict) -> int | None:
    """The first logged iteration whose training loss is NaN or infinite."""
    return next((e['step'] for e in curves['train'] if not math.isfinite(e['loss'])), None)


def finish(step: Step, step_card: dict, wall_s: float) -> dict:
    """Collect a finished run: metrics and curves from its logs; cls also exports its backbone (checking that the
    checkpoint's trick card is the planned one)."""
    checkpoint = find_latest_checkpoint(step.work_dir)
    if checkpoint is None:
        raise LadderError(f'{step.key}: {step.work_dir} has no checkpoint after training')
    curves = read_scalars(step.work_dir)
    result = dict(checkpoint=checkpoint, metrics=final_metrics(step.task, curves, step.key), wall_s=round(wall_s, 1),
                  curves=curves)
    diverged = diverged_at(curves)
    if diverged is not None:  # its metrics are those of a broken model: the report says so beside them
        result['diverged_at'] = diverged
    if step.task == 'cls':
        content = load_checkpoint(checkpoint)
        saved = content.get('meta', {}).get('trick_card')
        if saved != step_card['trick_card']:
            raise LadderError(f'{step.key}: {checkpoint} carries trick card {saved}, planned {step_card["trick_card"]}')
        export_backbone(checkpoint, step.work_dir, checkpoint=content)
        result['trick_card'] = saved
    record = dict(card=step_card, result=result)
    write_json(osp.join(step.work_dir, RECORD_FILE), record)
    return record


def reusable(step: Step, step_card: dict) -> dict | None:
    record = _read_json(osp.join(step.work_dir, RECORD_FILE))
    if not record or record.get('card') != step_card or not osp.isfile(record['result']['checkpoint']):
        return None
    if step.task == 'cls' and not osp.isfile(osp.join(step.work_dir, 'backbone.pth')):
        return None
    return record


def prepare(step: Step, step_card: dict, log) -> bool:
    """Make the work dir ready for this card; True if the run can resume from a checkpoint of the same card."""
    if _read_json(osp.join(step.work_dir, CARD_FILE)) == step_card and find_latest_checkpoint(step.work_dir):
        return True
    if osp.isdir(step.work_dir) and os.listdir(step.work_dir):
        number = 1
        while osp.exists(f'{step.work_dir}.stale-{number}'):
            number += 1
        os.replace(step.work_dir, f'{step.work_dir}.stale-{number}')
        log(f'{step.key}: an earlier run with another recipe was kept as {step.work_dir}.stale-{number}')
    os.makedirs(step.work_dir, exist_ok=True)
    write_json(osp.join(step.work_dir, CARD_FILE), step_card)
    return False


# ---------------------------------------------------------------------------------------------------------------------
# Running

@dataclass
class Running:
    step: Step
    card: dict
    process: subprocess.Popen
    log_file: str
    started: float
    length: tuple[str, int]    # ('epoch' | 'iter', total)


def _length(cfg: Config) -> tuple[str, int]:
    loop = cfg.train_cfg
    return ('epoch', loop.max_epochs) if 'max_epochs' in loop else ('iter', loop.max_iters)


def _progress(run: Running) -> str:
    unit, total = run.length
    curves = read_scalars(run.step.work_dir)['train']
    done = curves[-1].get(unit, curves[-1]['step']) if curves else 0
    return f'{run.step.key} {unit} {done}/{total}'


def _last_line(path: str) -> str:
    """The last non-empty line of a run's log: for a failed run, the error it stopped with."""
    with open(path, errors='replace') as f:
        lines = [line.strip() for line in f if line.strip()]
    return lines[-1] if lines else '(empty log)'


def ensure_embedded_world(path: str, log) -> dict:
    """The embedded world's meta.json content, after making the world if it is missing or from another generator
    version (whose crops would silently feed configs written for this one)."""
    meta = _read_json(osp.join(path, 'meta.json'))
    if meta is not None and meta.get('version') == WORLD_VERSION:
        return meta
    if meta is None:
        log(f'making the embedded world in {path} (once)')
    else:
        log(f'remaking the embedded world in {path}: it is version {meta.get("version")}, the generator {WORLD_VERSION}')
    try:
        return generate(path, overwrite=meta is not None)
    except FileExistsError as err:
        raise LadderError(f'embedded_world {path}: an unfinished generation is in the way ({err})') from None


def run(ladder: Ladder, log=print, poll_s: float = 2.0, progress_every_s: float = 30.0) -> dict:
    """Run every step (reusing and resuming what it can) and return the results by step key.

    A failed step stops only the steps that need it; the rest of the ladder goes on, and the failure is reported."""
    os.makedirs(ladder.out, exist_ok=True)
    with open(osp.join(ladder.out, '.lock'), 'w') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LadderError(f'{ladder.out}: another ladder is running there') from None
        world = ensure_embedded_world(ladder.embedded_world, log) if ladder.embedded_world else None
        return _run_steps(ladder, log, poll_s, progress_every_s, world)


def critical_first(steps: dict[str, Step]) -> list[Step]:
    """Steps ordered by the longest chain of steps waiting on them (a teacher first), then in plan order."""
    height: dict[str, int] = {}
    for key in reversed(list(steps)):  # dependents come after what they need
        height[key] = 1 + max((height[k] for k, s in steps.items() if key in s.needs), default=0)
    return sorted(steps.values(), key=lambda s: -height[s.key])


def _run_steps(ladder: Ladder, log, poll_s: float, progress_every_s: float, world: dict | None) -> dict:
    env = dict(os.environ)
    if ladder.threads:
        env.update(OMP_NUM_THREADS=str(ladder.threads), MKL_NUM_THREADS=str(ladder.threads))
    pending = critical_first(ladder.steps)
    running: list[Running] = []
    cards, results = {}, {}
    start = last_progress = time.monotonic()
    total = len(pending)

    def say(text):
        log(f'[{time.monotonic() - start:5.0f} s] {text}')

    while pending or running:
        for step in list(pending):
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
                process = subprocess.Popen(step.command(resume), stdout=out, stderr=subprocess.STDOUT, env=env,
                                           cwd=os.getcwd())
            running.append(Running(step, step_card, process, log_file, time.monotonic(), _length(cfg)))
            done = total - len(pending) - len(running)
            say(f'{"resume" if resume else "start "} {step.key}  ({done} of {total} steps done, log: {log_file})')
        for run_ in list(running):
            code = run_.process.poll()
            if code is None:
                continue
            running.remove(run_)
            wall = time.monotonic() - run_.started
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
            say('running: ' + ', '.join(_progress(r) for r in running))
        if running:
            time.sleep(poll_s)
    return results


def metrics_text(result: dict) -> str:
    text = '  '.join(f'{k} {v:.2f}' for k, v in result['metrics'].items())
    if 'diverged_at' in result:
        text += f'  (loss not finite from iteration {result["diverged_at"]})'
    return text

