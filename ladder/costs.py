"""A ladder's cost before it runs (`tools/run_ladder.py --plan`): each step's iterations and images, its GPU-hours at a
stated per-GPU throughput, its checkpoint disk, and the totals. Nothing is trained and no data is needed: a data root
on disk is counted, else the published size of its set (engine.standard_sets) is used, and the table says which.

Throughput, per task: the suite's own GPU figure (docs/gpu_check.json, written by tools/gpu_check.sh) where it has one,
else a cited reference. A cls step's figure is scaled by its backbone's multiply-adds at its train resolution against
the reference net's (backbones.complexity), a distillation student's with its teacher's forward added (a third of a
training step's work). Without a figure the step's hours are left out of the totals, and the note says so.
"""

import ast
import json
import math
import os
import os.path as osp
from dataclasses import dataclass
from functools import cache

from mmengine.config import Config, ConfigDict

from cls.data import IMAGE_EXTENSIONS
from engine.cli import register_modules
from engine.preflight import Run, run_checkpoint_bytes
from engine.standard_sets import ADE20K, IMAGENET, VOC0712
from engine.tasks import TASKS

from .plan import Ladder, LadderError, Step

OWN_FIGURE = 'docs/gpu_check.json'  # tools/gpu_check.py's `cost_plan` entry, on a GPU machine
RN50 = {'type': 'tricks.ResNet', 'depth': 50, 'variant': 'b'}  # torchvision's ResNet-50 v1.5: stride on the 3×3


@dataclass(frozen=True)
class Throughput:
    img_per_s: float  # per GPU
    source: str  # tag in the table, explained under it
    note: str
    backbone: dict | None = None  # cls: the net measured, whose multiply-adds a step's are set against
    image_size: int = 224


REFERENCES = {
    'cls': Throughput(
        2470,
        'ref:NVIDIA',
        'NVIDIA DeepLearningExamples, PyTorch ResNet-50 v1.5, AMP, one A100-80GB: 2,470 img/s '
        '(shared/reference/paper.md); scaled by multiply-adds at the train resolution against ResNet-50 at 224, a '
        "distillation student's with a third of its teacher's added",
        RN50,
    ),
    'det': Throughput(
        2 / 0.554,
        'ref:mmdet',
        'mmdetection v0.x MODEL_ZOO.md (commit 090d052d, PyTorch 0.4.1), Faster R-CNN R-50-FPN pytorch 1x: 0.554 '
        's/iter at 2 img/GPU on 8 V100s (COCO at 1333×800; VOC runs at 1000×600, so this errs long) = 3.61 img/s/GPU',
    ),
}
NO_FIGURE = {
    'seg': 'no reference figure: mmsegmentation configs/fcn/README.md lists FCN R-50-D8 512×512 ADE20K memory (8.5 GB) '
    'and inference speed (23.49 fps, V100) but no training time',
}


@dataclass
class StepCost:
    key: str
    task: str
    iterations: int
    images: int
    images_source: str  # 'counted', 'published', or both
    throughput: Throughput | None
    img_per_s: float | None  # this step's, after the multiply-add scaling
    gpu_hours: float | None
    wall_hours: float | None  # at the step's nproc_per_node GPUs
    disk_bytes: int
    disk_note: str


def own_figures(path: str = OWN_FIGURE) -> dict[str, Throughput]:
    """The suite's measured throughput per task from a GPU check's JSON (none in a dry run's or without the file)."""
    if not osp.isfile(path):
        return {}
    with open(path) as f:
        data = json.load(f)
    if data.get('dry_run'):
        return {}
    figures = {}
    for task, entry in (data.get('cost_plan') or {}).items():
        figures[task] = Throughput(
            entry['img_per_s'],
            'own',
            f'{path}: {entry["what"]} on {data["machine"].get("gpu", "?")}',
            entry.get('backbone'),
            entry.get('image_size', 224),
        )
    return figures


def _leaves(dataset: dict, times: int = 1) -> list[tuple[dict, int]]:
    """The datasets that read files, each with how often a wrapper (RepeatDataset) repeats it."""
    if 'datasets' in dataset:
        return [leaf for child in dataset['datasets'] for leaf in _leaves(child, times)]
    if 'dataset' in dataset:
        return _leaves(dataset['dataset'], times * dataset.get('times', 1))
    return [(dataset, times)]


def _count(dataset: dict) -> int | None:
    """The images of a dataset whose files are on disk, else None."""
    root = dataset.get('data_root') or ''
    ann_file = dataset.get('ann_file') or ''
    if ann_file.endswith('.txt'):  # VOC: one image id a line
        path = osp.join(root, ann_file)
        if not osp.isfile(path):
            return None
        with open(path) as f:
            return sum(1 for line in f if line.strip())
    folder = osp.join(root, (dataset.get('data_prefix') or {}).get('img_path') or dataset.get('split') or '')
    if not root or not osp.isdir(folder):
        return None
    return sum(osp.splitext(name)[1].lower() in IMAGE_EXTENSIONS for _, _, files in os.walk(folder) for name in files)


def _published(dataset: dict) -> int:
    kind = str(dataset.get('type', ''))
    if 'ADE20K' in kind:
        return ADE20K.splits['training']
    if 'VOC' in kind:
        return VOC0712.splits[f'{dataset["ann_file"].split("/")[0]}/trainval']
    if 'imagenet' in str(dataset.get('data_root', '')).lower():
        return IMAGENET.splits[dataset.get('split', 'train')]
    raise LadderError(f'{kind} at {dataset.get("data_root")}: no images on disk and no published size known')


def train_images(cfg: Config) -> tuple[int, str]:
    """The images of one pass over the training set, and whether they were counted or published."""
    total, sources = 0, set()
    for dataset, times in _leaves(cfg.train_dataloader.dataset):
        counted = _count(dataset)
        sources.add('published' if counted is None else 'counted')
        total += times * (_published(dataset) if counted is None else counted)
    return total, '+'.join(sorted(sources))


def _train_size(cfg: Config) -> int:
    for transform in cfg.train_dataloader.dataset.get('pipeline') or []:
        size = transform.get('size')
        if size:
            return size if isinstance(size, int) else max(size)
    return 224


@cache
def _macs(backbone: str, image_size: int) -> int:
    """Multiply-adds of a backbone config (its repr: a cache key) on one image, built on CPU."""
    from mmengine.registry import MODELS

    from backbones.complexity import measure

    return measure(MODELS.build(ConfigDict(ast.literal_eval(backbone))), image_size).macs


def _cls_macs(cfg: Config) -> int:
    """Multiply-adds of one training image's forward: the backbone's, plus a third of the teacher's forward (a
    training step is about three forwards, the teacher's one)."""
    size = _train_size(cfg)
    macs = _macs(repr(cfg.model.backbone.to_dict()), size)
    teacher = cfg.model.get('teacher')
    if teacher:
        teacher_backbone = Config.fromfile(teacher.config).model.backbone.to_dict()
        macs += _macs(repr(teacher_backbone), size) // 3
    return macs


def _fine_tunes_an_export(cfg: Config) -> bool:
    return str(cfg.model.backbone.get('type', '')).endswith('ExportedBackbone')


def step_cost(step: Step, figures: dict[str, Throughput], backbones: dict[str, tuple]) -> StepCost:
    """`backbones`: each step's backbone (architecture, parameters), filled here, read by the steps that fine-tune a
    cls step's export (which come later in the ladder's order). The checkpoint disk is the preflight's estimate
    (`engine.preflight.run_checkpoint_bytes`)."""
    cfg = step.resolve()
    nproc = step.nproc_per_node
    per_iteration = cfg.train_dataloader.batch_size * nproc
    images_per_pass, images_source = train_images(cfg)
    loop = cfg.train_cfg
    if 'max_iters' in loop:
        iterations = loop.max_iters
    else:
        iterations = loop.max_epochs * math.ceil(images_per_pass / per_iteration)
    images = iterations * per_iteration

    throughput = figures.get(step.task) or REFERENCES.get(step.task)
    if step.task == 'cls':
        img_per_s = (
            throughput.img_per_s * _macs(repr(throughput.backbone), throughput.image_size) / _cls_macs(cfg)
            if throughput
            else None
        )
        disk_note = 'classifier + export'
    else:
        img_per_s = throughput.img_per_s if throughput else None
        disk_note = 'model'
    run = Run(step.key, step.task, cfg, nproc, step.needs[0] if step.needs else None)
    if step.task != 'cls' and run.backbone_of not in backbones and _fine_tunes_an_export(cfg):
        raise LadderError(f'{step.key}: fine-tunes an export that no cls step of the ladder makes')
    disk, backbones[step.key] = run_checkpoint_bytes(run, backbones.get(run.backbone_of))
    gpu_hours = images / img_per_s / 3600 if img_per_s else None
    return StepCost(
        step.key,
        step.task,
        iterations,
        images,
        images_source,
        throughput,
        img_per_s,
        gpu_hours,
        gpu_hours / nproc if gpu_hours else None,
        disk,
        disk_note,
    )


def costs(ladder: Ladder) -> list[StepCost]:
    """Every step's cost, in the ladder's order; each distinct model is built once."""
    for task in dict.fromkeys(['cls', *(step.task for step in ladder.steps.values())]):
        register_modules(TASKS[task])
    figures, backbones = own_figures(), {}
    return [step_cost(step, figures, backbones) for step in ladder.steps.values()]


def _critical_path(ladder: Ladder, rows: list[StepCost]) -> float:
    """The longest chain of wall hours through the steps' dependencies."""
    wall = {row.key: row.wall_hours or 0.0 for row in rows}
    finish: dict[str, float] = {}
    for key, step in ladder.steps.items():  # dependency order
        finish[key] = wall[key] + max((finish[n] for n in step.needs), default=0.0)
    return max(finish.values(), default=0.0)


def _rate(img_per_s: float) -> str:
    return f'{img_per_s:,.0f}' if img_per_s >= 100 else f'{img_per_s:.2f}'


def _size(n: int) -> str:
    return f'{n / 1e9:,.2f} GB'


def table(ladder: Ladder, rows: list[StepCost]) -> str:
    """The cost plan as aligned markdown: one line a step, the totals, and where each figure comes from."""
    nproc = max(step.nproc_per_node for step in ladder.steps.values())
    header = (
        'step',
        'task',
        'iterations',
        'images',
        'train set',
        'img/s/GPU (source)',
        'GPU-h',
        f'h on {nproc} GPUs',
        'checkpoint disk',
    )
    lines = [
        (
            row.key,
            row.task,
            f'{row.iterations:,}',
            f'{row.images:,}',
            row.images_source,
            f'{_rate(row.img_per_s)} ({row.throughput.source})' if row.img_per_s else '— (no figure)',
            f'{row.gpu_hours:,.2f}' if row.throughput else '—',
            f'{row.wall_hours:,.2f}' if row.throughput else '—',
            f'{_size(row.disk_bytes)} ({row.disk_note})',
        )
        for row in rows
    ]
    widths = [max(len(cell) for cell in column) for column in zip(header, *lines)]

    def line(cells):
        return '| ' + ' | '.join(cell.ljust(width) for cell, width in zip(cells, widths)) + ' |'

    out = [line(header), '|' + '|'.join('-' * (w + 2) for w in widths) + '|', *map(line, lines)]
    gpu_hours = sum(row.gpu_hours or 0 for row in rows)
    serial = sum(row.wall_hours or 0 for row in rows)
    wall = max(serial / ladder.jobs, _critical_path(ladder, rows))
    missing = sorted({row.task for row in rows if not row.throughput})
    left_out = f' (without the {", ".join(missing)} steps: no figure)' if missing else ''
    bound = ' (a lower bound: the busier of the GPUs and the longest dependency chain)' if ladder.jobs > 1 else ''
    out += [
        '',
        f'total: {len(rows)} steps, {gpu_hours:,.0f} GPU-hours{left_out}; wall ≈ {wall:,.0f} h on {nproc} GPUs with '
        f'{ladder.jobs} step(s) at a time{bound}; checkpoint disk {_size(sum(row.disk_bytes for row in rows))}, the '
        "sum: every step's work dir stays (the ladder reuses finished steps)",
        '',
        'train set: counted = the images found under the data root; published = engine/standard_sets.py. iterations: '
        'epochs × ⌈images / (batch × GPUs)⌉, or max_iters. checkpoint disk: parameters × 4 B × (1 + optimiser state '
        'copies + 1 with an EMA hook) × checkpoints kept (max_keep_ckpts or every save, + 1 for save_best), + the '
        'exported backbone twice (.pth, .safetensors) for cls.',
    ]
    used = {row.throughput.source: row.throughput.note for row in rows if row.throughput}
    out += [f'{source}: {note}' for source, note in used.items()]
    out += [f'{task}: {NO_FIGURE.get(task, "no figure")}' for task in missing]
    return '\n'.join(out)


def print_plan(ladder: Ladder) -> None:
    print(table(ladder, costs(ladder)), flush=True)
