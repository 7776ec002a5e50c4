"""What makes a ladder step reusable, and its record once it ran.

Every step lives in OUT/<task>/<config name>. Its card (the resolved config's digest, the cards of the steps it
reads, the embedded world's meta.json) is written there when it starts (`ladder_card.json`) and, with its metrics,
when it ends (`ladder_step.json`). A step whose finished record has the same card is reused; one that started with
the same card resumes from its last checkpoint; an earlier run with another card is moved aside, never deleted.
"""

import hashlib
import json
import math
import os
import os.path as osp

import torch
from mmengine.config import Config

from backbones.checkpoint import export_backbone, latest_checkpoint, load_checkpoint, write_json
from cls.optim import precision_of
from datagen.demo_world import VERSION as WORLD_VERSION
from datagen.demo_world import generate
from engine.hooks import TimeToAccuracyHook
from engine.tasks import TASKS

from .plan import LadderError, Step

CARD_FILE, RECORD_FILE = 'ladder_card.json', 'ladder_step.json'
UNRELATED_KEYS = ('visualizer',)  # config keys that cannot change a result: where its scalars are also logged


def digest(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def card(step: Step, cfg: Config, cards: dict[str, dict], world: dict | None = None) -> dict:
    """What makes a finished step reusable: its resolved config `cfg` (the recipe, seed and data; not the trackers it
    logs to), the precision it
    trains in here (the AMP rule's choice for this device: a bf16 run is not reused on a CPU that trains in fp32),
    the cards of the steps it reads and, on the embedded world, that world's meta.json (its generator version, seed
    and counts)."""
    result = dict(
        task=step.task,
        config=step.settings.config,
        config_digest=digest({k: v for k, v in cfg.to_dict().items() if k not in UNRELATED_KEYS}),
        precision=precision_of(cfg.optim_wrapper, 'cuda' if torch.cuda.is_available() else 'cpu'),
        inputs={key: cards[key]['digest'] for key in step.needs},
    )
    if world is not None:
        result['world_digest'] = digest(world)
    result['digest'] = digest(result)
    return result


def read_json(path: str) -> dict | None:
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


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


def final_metrics(task: str, curves: dict, where: str) -> dict:
    """The task's report columns (`engine.tasks`) from the run's last validation."""
    if not curves['val']:
        raise LadderError(f'{where}: the run logged no validation')
    last = curves['val'][-1]
    metrics = {}
    for metric in TASKS[task].metrics:
        found = [k for k in last if k == metric.logged or k.endswith('/' + metric.logged)]
        if not found:
            raise LadderError(f'{where}: the last validation has no {metric.logged!r} (it has {sorted(last)})')
        metrics[metric.column] = round(float(last[found[0]]) * metric.factor, 4)
    return metrics


def diverged_at(curves: dict) -> int | None:
    """The first logged iteration whose training loss is NaN or infinite."""
    return next((e['step'] for e in curves['train'] if not math.isfinite(e['loss'])), None)


def finish(step: Step, step_card: dict, wall_s: float) -> dict:
    """Collect a finished run: metrics and curves from its logs, its precision; a cls run also exports its backbone and
    records the trick card its components wrote into the checkpoint (whose precision is the one the run used)."""
    checkpoint = latest_checkpoint(step.work_dir)
    if checkpoint is None:
        raise LadderError(f'{step.key}: {step.work_dir} has no checkpoint after training')
    curves = read_scalars(step.work_dir)
    result = dict(
        checkpoint=checkpoint,
        metrics=final_metrics(step.task, curves, step.key),
        wall_s=round(wall_s, 1),
        precision=step_card['precision'],
        curves=curves,
    )
    time_to_accuracy = read_json(osp.join(step.work_dir, TimeToAccuracyHook.file_name))
    if time_to_accuracy:
        result['time_to_accuracy'] = time_to_accuracy
    diverged = diverged_at(curves)
    if diverged is not None:  # its metrics are those of a broken model: the report says so beside them
        result['diverged_at'] = diverged
    if step.task == 'cls':
        content = load_checkpoint(checkpoint)
        result['trick_card'] = content.get('meta', {}).get('trick_card')
        if not result['trick_card']:
            raise LadderError(f'{step.key}: {checkpoint} carries no trick card (tricks.TrickCardHook)')
        result['precision'] = result['trick_card']['amp'] or 'float32'
        export_backbone(checkpoint, step.work_dir, checkpoint=content)
    record = dict(card=step_card, result=result)
    write_json(osp.join(step.work_dir, RECORD_FILE), record)
    return record


def reusable(step: Step, step_card: dict) -> dict | None:
    record = read_json(osp.join(step.work_dir, RECORD_FILE))
    if not record or record.get('card') != step_card or not osp.isfile(record['result']['checkpoint']):
        return None
    if step.task == 'cls' and not osp.isfile(osp.join(step.work_dir, 'backbone.pth')):
        return None
    return record


def prepare(step: Step, step_card: dict, log) -> bool:
    """Make the work dir ready for this card; True if the run can resume from a checkpoint of the same card."""
    if read_json(osp.join(step.work_dir, CARD_FILE)) == step_card and latest_checkpoint(step.work_dir):
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


def ensure_embedded_world(path: str, log) -> dict:
    """The embedded world's meta.json content, after making the world if it is missing or from another generator
    version (whose crops would silently feed configs written for this one)."""
    meta = read_json(osp.join(path, 'meta.json'))
    if meta is not None and meta.get('version') == WORLD_VERSION:
        return meta
    if meta is None:
        log(f'making the embedded world in {path} (once)')
    else:
        log(
            f'remaking the embedded world in {path}: it is version {meta.get("version")}, the generator {WORLD_VERSION}'
        )
    try:
        return generate(path, overwrite=meta is not None)
    except FileExistsError as err:
        raise LadderError(f'embedded_world {path}: an unfinished generation is in the way ({err})') from None
