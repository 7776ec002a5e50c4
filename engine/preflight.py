"""Before the GPU-days: the data and the machine a run or a ladder will meet, one line per finding.

Why: a paper ladder fails hours or days in when a data set is incomplete (VOC2012 not unpacked), laid out another way
(ImageNet's val flat, with a label file), holds a bad file, or when the machine cannot do what the run asks (too few
GPUs, mmcv without its compiled ops, too little disk for the checkpoints). `tools/preflight.py` runs these checks on a
train config or a ladder config's resolved steps (`ladder.plan`), reading the files as the datasets would (PIL,
xml.etree) without building them: mmdet and mmseg are imported only to count a transfer model's parameters.

Findings are `ok`, `info`, `warning` or `problem`; only a problem fails the preflight.
"""

import contextlib
import copy
import importlib
import json
import math
import os
import os.path as osp
import shutil
import sys
import tempfile
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

from cls.data import IMAGE_EXTENSIONS
from datagen.demo_world import VERSION as WORLD_VERSION
from engine.standard_sets import ADE20K, IMAGENET, VOC0712, StandardSet
from engine.tasks import TASKS

# Label files that come with ImageNet's flat val (Kaggle's CSV, the devkit's ground truth, the common val.txt).
IMAGENET_VAL_LABEL_FILES = ('LOC_val_solution.csv', 'ILSVRC2012_validation_ground_truth.txt', 'val.txt')
FLAT_VAL_ADVICE = "sort them into val/<wnid>/ first (README.md, 'ImageNet's val in class folders')"
OPTIMIZER_STATE_COPIES = {'Adam': 2, 'AdamW': 2, 'LAMB': 2, 'Lamb': 2}  # per parameter (SGD: 1, its momentum)
BYTES_PER_PARAMETER = 4  # checkpoints keep fp32 weights and states, AMP runs too
COUNT_MODES = ('full', 'any')


@dataclass
class Finding:
    level: str  # 'ok', 'info', 'warning' or 'problem'
    text: str

    def __str__(self) -> str:
        return f'{self.level}: {self.text}'


@dataclass
class Run:
    """What one train run (a ladder step, or a config on its own) will do, as the preflight sees it."""

    key: str  # the ladder's step key, or the config path
    task: str  # a key of engine.tasks.TASKS
    cfg: object  # its resolved mmengine Config
    nproc_per_node: int = 1
    backbone_of: str | None = None  # key of the cls run whose export a transfer run fine-tunes


@dataclass
class Preflight:
    runs: list[Run]
    work_dir: str
    samples: int = 8  # images (and annotations) decoded per split
    counts: str = 'full'  # 'full': the published sizes must match; 'any': a made-up or subset layout
    embedded_world: str | None = None  # a ladder's: its datasets are not checked before the ladder has made it
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: str, text: str) -> None:
        self.findings.append(Finding(level, text))

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.level == 'problem']

    def summary(self) -> str:
        counts = {level: sum(f.level == level for f in self.findings) for level in ('problem', 'warning')}
        said = ', '.join(f'{n} {level}{"s" if n != 1 else ""}' for level, n in counts.items())
        verdict = 'all is well' if not counts['problem'] else 'not ready'
        return f'preflight: {verdict} ({said}; {len(self.runs)} run(s), counts {self.counts})'


class Planned(NamedTuple):
    runs: list[Run]
    work_dir: str  # a ladder's out, or the config's work dir
    embedded_world: str | None = None  # a ladder's, made by its first run


def plan_runs(source: str, work_dir: str | None = None, data_root: str | None = None, nproc: int = 1) -> Planned:
    """The runs of a train config, or of a ladder config's steps as tools/run_ladder.py resolves them."""
    from mmengine.config import Config

    from engine.cli import RunSettings, load_config, task_of_config

    if not osp.isfile(source):
        raise SystemExit(f'error: config file {source} not found')
    if 'rows' not in Config.fromfile(source):
        task = task_of_config([source])
        cfg = load_config(TASKS[task], RunSettings(source, work_dir=work_dir, data_root=data_root), register=False)
        return Planned([Run(source, task, cfg, nproc)], cfg.work_dir)
    if data_root:
        raise SystemExit(f'error: --data-root is for a single config; {source} is a ladder: set its data_roots')
    from ladder.plan import plan

    ladder = plan(source)
    runs = []
    for key, step in ladder.steps.items():
        backbone_of = (
            next((need for need in step.needs if need.startswith('cls/')), None) if step.task != 'cls' else None
        )
        runs.append(Run(key, step.task, step.resolve(), step.nproc_per_node, backbone_of))
    return Planned(runs, work_dir or ladder.out, ladder.embedded_world)


def report(check: Preflight) -> int:
    """Print the findings and the summary; the exit status: 1 with a problem, else 0."""
    for finding in check.findings:
        print(finding, flush=True)
    print(check.summary(), flush=True)
    return 1 if check.problems else 0


def run_checks(check: Preflight) -> Preflight:
    """Every check, data first; the findings accumulate in `check`."""
    unmade = check.embedded_world if check.embedded_world and not embedded_world_is_made(check.embedded_world) else None
    if unmade:
        check.add(
            'info', f'{unmade}: the embedded world is made by the ladder on its first run; its data is not checked'
        )
    for where, run, dataset in unique_datasets(check.runs):
        if unmade and _is_under(dataset.get('data_root', ''), unmade):
            continue
        check_dataset(check, where, run, dataset)
    check_machine(check)
    return check


# The data ------------------------------------------------------------------------------------------------------------


def embedded_world_is_made(world: str) -> bool:
    """As ladder.cache.ensure_embedded_world sees it: a meta.json of this generator's version (else it is remade)."""
    meta = Path(world) / 'meta.json'
    return meta.is_file() and json.loads(meta.read_text()).get('version') == WORLD_VERSION


def _is_under(path: str, folder: str) -> bool:
    return osp.commonpath([osp.abspath(path), osp.abspath(folder)]) == osp.abspath(folder)


def datasets_of(cfg, key: str) -> Iterator[tuple[str, dict]]:
    """(config key, dataset dict) of every leaf dataset of a dataloader, wrappers unwrapped."""
    loader = cfg.get(key)
    if not loader:
        return

    def visit(dataset, where):
        if 'datasets' in dataset:
            for index, child in enumerate(dataset.datasets):
                yield from visit(child, f'{where}.datasets[{index}]')
        elif 'dataset' in dataset:
            yield from visit(dataset.dataset, f'{where}.dataset')
        else:
            yield where, dataset

    yield from visit(loader.dataset, f'{key}.dataset')


def unique_datasets(runs: list[Run]) -> list[tuple[str, Run, dict]]:
    """Each dataset once (a ladder's rows share them, val and test loaders often too), with where it was met first:
    the config key and the run."""
    seen, found = set(), []
    for run in runs:
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            for key, dataset in datasets_of(run.cfg, loader):
                identity = repr(sorted((k, repr(v)) for k, v in dataset.items() if k != 'pipeline'))
                if identity not in seen:
                    seen.add(identity)
                    found.append((f'{run.key}: {key}', run, dataset))
    return found


def dataset_kind(dataset: dict) -> str:
    """The dataset's type without its scope ('tricks.VOCDataset' → 'VOCDataset')."""
    return str(dataset.get('type', '')).rsplit('.', 1)[-1]


def check_dataset(check: Preflight, where: str, run: Run, dataset: dict) -> None:
    checker = DATASET_CHECKS.get(dataset_kind(dataset))
    if checker is None:
        check.add('warning', f'cannot check {dataset.get("type")} (config key {where}): its files are not looked at')
        return
    checker(check, where, run, dataset)


def sample(items: list, count: int) -> list:
    """`count` items spread evenly over the list, the first and last included: a fixed, reproducible sample."""
    if len(items) <= count:
        return list(items)
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)] if count > 1 else items[:1]


def decode_problem(path: str | Path) -> str | None:
    """Why `path` does not decode as an RGB image, or None when it does."""
    try:
        with Image.open(path) as image:
            image.convert('RGB')
    except Exception as err:  # Pillow raises many types (OSError, SyntaxError, ...) for bad files
        return f'{path}: does not decode ({type(err).__name__}: {err})'
    return None


def check_count(check: Preflight, name: str, found: int, standard: StandardSet | None, split: str, what: str) -> None:
    """One line per split: the number found, and in full mode the published one with the difference."""
    if check.counts == 'any' or standard is None:
        note = '' if check.counts == 'any' else ' (no published size to compare)'
        check.add('ok', f'{name}: {found:,} {what}{note}')
        return
    expected = standard.splits[split]
    if found == expected:
        check.add('ok', f'{name}: {found:,} {what}, as {standard.name} {split}')
        return
    difference = f'{expected - found:,} missing' if found < expected else f'{found - expected:,} more'
    check.add('problem', f'{name}: {found:,} {what} where {standard.name} {split} has {expected:,} ({difference})')


def check_image_folder(check: Preflight, where: str, run: Run, dataset: dict) -> None:
    """tricks.ImageFolder: data_root/<split>/<class>/<image>; a val split of the train split's classes."""
    root, split = Path(dataset.get('data_root', '')), dataset.get('split', 'train')
    split_dir = root / split
    name = f'{split_dir} ({where})'
    if not split_dir.is_dir():
        check.add('problem', f'{name}: split folder not found')
        return
    entries = [p for p in split_dir.iterdir() if not p.name.startswith('.')]
    class_dirs = sorted(p for p in entries if p.is_dir())
    flat = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    if flat:
        labels = [
            str(d / f) for d in (split_dir, root, root.parent) for f in IMAGENET_VAL_LABEL_FILES if (d / f).is_file()
        ]
        label_note = f'with a label file ({labels[0]})' if labels else 'and no label file to sort them by'
        check.add(
            'problem',
            f'{name}: {len(flat):,} images lie flat in the split folder {label_note}, not in class folders: '
            + FLAT_VAL_ADVICE,
        )
        return
    if not class_dirs:
        check.add('problem', f'{name}: no class folders')
        return
    reference = dataset.get('same_classes_as')
    if reference:
        expected = (
            {p.name for p in (root / reference).iterdir() if p.is_dir()} if (root / reference).is_dir() else set()
        )
        missing, extra = (
            sorted(expected - {p.name for p in class_dirs}),
            sorted({p.name for p in class_dirs} - expected),
        )
        if missing or extra:
            check.add(
                'problem',
                f"{name}: class folders differ from {root / reference}'s (missing: {', '.join(missing[:3]) or '-'}"
                f'{" …" if len(missing) > 3 else ""}; unexpected: {", ".join(extra[:3]) or "-"}'
                f'{" …" if len(extra) > 3 else ""})',
            )
            return
    images, empty = [], []
    for class_dir in class_dirs:
        found = sorted(p for p in class_dir.rglob('*') if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        (images.extend(found) if found else empty.append(class_dir))
    if empty:
        check.add('problem', f'{name}: {len(empty)} class folder(s) without images, e.g. {empty[0]}')
        return
    standard = IMAGENET if (run.cfg.get('model') or {}).get('num_classes') == IMAGENET.classes else None
    if standard is not None and check.counts == 'full' and len(class_dirs) != standard.classes:
        check.add(
            'problem', f'{name}: {len(class_dirs):,} class folders where {standard.name} has {standard.classes:,}'
        )
    check_count(check, name, len(images), standard, split, f'images in {len(class_dirs):,} class folders')
    check_samples(check, name, 'images decode', sample(images, check.samples), decode_problem)


def check_voc(check: Preflight, where: str, run: Run, dataset: dict) -> None:
    """tricks.VOCDataset / mmdet's VOCDataset: data_root/<year>/ImageSets/Main/<split>.txt listing ids whose
    JPEGImages/<id>.jpg and Annotations/<id>.xml are there."""
    root = Path(dataset.get('data_root', ''))
    year_dir = root / (dataset.get('data_prefix') or {}).get('sub_data_root', '')
    ann_file = root / dataset.get('ann_file', '')
    name = f'{ann_file} ({where})'
    if not year_dir.is_dir():
        check.add('problem', f'{year_dir}: folder not found ({where}, ann_file {dataset.get("ann_file")})')
        return
    if not ann_file.is_file():
        check.add('problem', f'{name}: image-set file not found')
        return
    ids = [line.split()[0] for line in ann_file.read_text().splitlines() if line.strip()]
    missing = [
        path
        for image_id in ids
        for path in (year_dir / 'JPEGImages' / f'{image_id}.jpg', year_dir / 'Annotations' / f'{image_id}.xml')
        if not path.is_file()
    ]
    if missing:
        check.add('problem', f'{name}: {len(missing):,} listed file(s) missing, e.g. {missing[0]}')
        return
    split = f'{year_dir.name}/{ann_file.stem}'
    classes = (dataset.get('metainfo') or {}).get('classes')
    voc = split in VOC0712.splits and (classes is None or len(classes) == VOC0712.classes)  # not a set of its own
    check_count(check, name, len(ids), VOC0712 if voc else None, split, 'images')
    picked = sample(ids, check.samples)
    check_samples(check, name, 'images decode', [year_dir / 'JPEGImages' / f'{i}.jpg' for i in picked], decode_problem)
    check_samples(
        check,
        name,
        'annotations parse',
        [year_dir / 'Annotations' / f'{i}.xml' for i in picked],
        voc_annotation_problem,
    )


def voc_annotation_problem(path: Path) -> str | None:
    """Why a VOC XML cannot be trained on, as mmdet reads it (size, objects' name and bndbox), or None."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        return f'{path}: not readable XML ({err})'
    for index, obj in enumerate(root.findall('object')):
        try:
            x1, y1, x2, y2 = (float(obj.find('bndbox').find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax'))
        except (AttributeError, TypeError, ValueError):
            return f'{path}: object {index} has no readable bndbox (xmin, ymin, xmax, ymax)'
        if not obj.findtext('name'):
            return f'{path}: object {index} has no name'
        if x2 < x1 or y2 < y1:
            return f'{path}: object {index} has an inverted box xmin={x1:g} ymin={y1:g} xmax={x2:g} ymax={y2:g}'
    return None


def check_ade(check: Preflight, where: str, run: Run, dataset: dict) -> None:
    """mmseg's ADE20KDataset / tricks.ADEFormatDataset: images/<split>/*.jpg beside annotations/<split>/*.png of the
    same stem, label values 1..K for the classes, 0 and 255 ignored (zero-as-ignore, as seg/ade_format.py accepts)."""
    root = Path(dataset.get('data_root', ''))
    prefix = dataset.get('data_prefix') or {}
    image_dir, label_dir = root / prefix.get('img_path', ''), root / prefix.get('seg_map_path', '')
    image_suffix, label_suffix = dataset.get('img_suffix', '.jpg'), dataset.get('seg_map_suffix', '.png')
    name = f'{image_dir} ({where})'
    for folder in (image_dir, label_dir):
        if not folder.is_dir():
            check.add('problem', f'{folder}: not found ({where})')
            return
    images = sorted(image_dir.rglob(f'*{image_suffix}'))
    if not images:
        check.add('problem', f'{name}: no *{image_suffix} images')
        return
    labels = [label_dir / p.relative_to(image_dir).with_suffix(label_suffix) for p in images]
    missing = [label for label in labels if not label.is_file()]
    if missing:
        check.add('problem', f'{name}: {len(missing):,} image(s) without a label map, e.g. {missing[0]}')
        return
    classes = dataset.get('metainfo', {}).get('classes')
    count = len(classes) if classes else ADE20K.classes  # mmseg's ADE20KDataset: ADE's 150
    standard = ADE20K if dataset_kind(dataset) == 'ADE20KDataset' else None
    check_count(check, name, len(images), standard, image_dir.name, 'images with label maps')
    zero_ignored = dataset.get('reduce_zero_label', True)
    valid = (
        set(range(1, count + 1)) | {0, 255} if zero_ignored else set(range(count)) | {dataset.get('ignore_index', 255)}
    )
    ignored = '0 and 255' if zero_ignored else dataset.get('ignore_index', 255)
    span = f'{"1.." + str(count) if zero_ignored else "0.." + str(count - 1)}, {ignored} ignored'
    picked = sample(list(zip(images, labels)), check.samples)
    check_samples(check, name, 'images decode', [image for image, _ in picked], decode_problem)
    check_samples(check, name, f'label maps hold {span}', picked, lambda pair: label_map_problem(*pair, valid, span))


def label_map_problem(image: Path, label: Path, valid: set[int], span: str) -> str | None:
    """Why a label map cannot be trained on (does not decode, another size than its image, a value out of range)."""
    try:
        with Image.open(label) as mask:
            size, values = mask.size, np.unique(np.asarray(mask))
        with Image.open(image) as picture:
            image_size = picture.size
    except Exception as err:  # as in decode_problem
        return f'{label}: does not decode ({type(err).__name__}: {err})'
    if size != image_size:
        return f'{label}: {size[0]}×{size[1]} px for an image of {image_size[0]}×{image_size[1]} px ({image})'
    stray = sorted(set(values.tolist()) - valid)
    if stray:
        return f'{label}: label value {stray[0]} is out of range (valid: {span})'
    return None


def check_samples(check: Preflight, name: str, what: str, items: list, problem_of) -> None:
    """One problem line per bad sampled file, or one ok line saying `what` holds for the sample."""
    problems = [text for text in map(problem_of, items) if text]
    for text in problems:
        check.add('problem', text)
    if not problems:
        check.add('ok', f'{name}: {len(items)} sampled {what}')


DATASET_CHECKS = {
    'ImageFolder': check_image_folder,
    'VOCDataset': check_voc,
    'ADE20KDataset': check_ade,
    'ADEFormatDataset': check_ade,
}


# The machine ---------------------------------------------------------------------------------------------------------


def check_machine(check: Preflight) -> None:
    check_gpus(check)
    if any(run.task != 'cls' for run in check.runs):
        check_mmcv_ops(check)
    check_work_dir(check)


def check_gpus(check: Preflight) -> None:
    """GPUs vs the processes per node the runs ask for. Without enough, torchrun would start gloo CPU processes
    (engine.cli's CPU fallback): fine for a rehearsal on a made-up layout (`--counts any`), a problem for the real
    run. One process without a GPU trains on the CPU, as the CPU-scale configs do: a warning."""
    gpus = torch.cuda.device_count()
    nccl = '.'.join(map(str, torch.cuda.nccl.version())) if torch.cuda.is_available() else 'none (no GPU)'
    check.add('info', f'torch {torch.__version__}, CUDA {torch.version.cuda or "none (CPU build)"}, NCCL {nccl}')
    wanted = max(run.nproc_per_node for run in check.runs)
    if gpus >= wanted:
        check.add('ok', f'{gpus} GPU(s) for nproc_per_node={wanted}')
        return
    if gpus:
        fallback = f'only {gpus} of them'
    else:
        fallback = f'{wanted} gloo CPU processes' if wanted > 1 else 'the CPU'
    level = 'problem' if check.counts == 'full' and wanted > 1 else 'warning'  # one CPU process: a CPU-scale run
    check.add(
        level,
        f'nproc_per_node={wanted} asks for {wanted} GPU(s), this machine has {gpus}: the run would use {fallback}',
    )


def check_mmcv_ops(check: Preflight) -> None:
    """mmcv's compiled ops (mmdet's nms, RoIAlign), on the GPU too where there is one, as tools/env.sh's mmcv_ok."""
    try:
        import mmcv._ext  # noqa: F401  (a build can succeed without its compiled ops)
        from mmcv.ops import nms

        boxes, scores = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0]]), torch.tensor([0.9, 0.8])
        for device in ['cpu'] + (['cuda'] if torch.cuda.is_available() else []):
            _, keep = nms(boxes.to(device), scores.to(device), 0.5)
            if keep.tolist() != [0]:
                raise RuntimeError(f'nms on {device} kept {keep.tolist()}, not [0]')
    except Exception as err:  # ImportError, undefined symbols, a CUDA ops build for another GPU, ...
        check.add(
            'problem',
            f"mmcv's compiled ops do not work here ({type(err).__name__}: {err}): rebuild them with "
            f'rm -rf {sys.prefix} && bash tools/env.sh (a cached wheel that fails here is refused and mmcv is built)',
        )
        return
    import mmcv

    check.add(
        'ok',
        f"mmcv {mmcv.__version__}'s compiled ops work" + (' (cpu, cuda)' if torch.cuda.is_available() else ' (cpu)'),
    )


def existing_parent(path: str) -> str:
    """`path` or the nearest folder above it that exists (where its files would land)."""
    path = osp.abspath(path)
    while not osp.isdir(path):
        path = osp.dirname(path)
    return path


def check_work_dir(check: Preflight) -> None:
    """The work dir takes a file (made if missing, then removed with the folders made for it), and its disk the
    checkpoints the runs will write."""
    work_dir = osp.abspath(check.work_dir)
    made = []
    try:
        for folder in reversed([p for p in [work_dir, *Path(work_dir).parents] if not osp.exists(p)]):
            os.mkdir(folder)
            made.append(str(folder))
        with tempfile.NamedTemporaryFile(dir=work_dir, prefix='.preflight-'):
            pass
    except OSError as err:
        check.add('problem', f'work dir {work_dir} is not writable ({type(err).__name__}: {err.strerror or err})')
        return
    finally:
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                os.rmdir(folder)
    check.add('ok', f'work dir {work_dir} is writable')
    need, uncounted = checkpoint_bytes(check.runs)
    free = existing_parent(work_dir)
    available = shutil.disk_usage(free).free
    note = f' ({len(uncounted)} run(s) not counted: {uncounted[0]})' if uncounted else ''
    text = f'the runs write about {size_text(need)} of checkpoints and exports{note}; {size_text(available)} free'
    check.add('ok' if need <= available else 'problem', f'{text} at {free}')


def size_text(size: int) -> str:
    return f'{size / 2**30:.1f} GiB' if size >= 2**30 else f'{size / 2**20:.0f} MiB'


def checkpoint_bytes(runs: list[Run]) -> tuple[int, list[str]]:
    """Bytes of every checkpoint the runs keep and of the cls exports, and the runs whose model could not be counted
    (with why)."""
    total, uncounted = 0, []
    backbones = {}
    for run in [r for r in runs if r.task == 'cls'] + [r for r in runs if r.task != 'cls']:
        try:
            size, backbones[run.key] = run_checkpoint_bytes(run, backbones.get(run.backbone_of))
        except Exception as err:  # a model that does not build on the meta device: said, not fatal
            uncounted.append(f'{run.key}: {type(err).__name__}: {(str(err).splitlines() or [""])[0][:100]}')
            continue
        total += size
    return total, uncounted


def run_checkpoint_bytes(run: Run, backbone: tuple[dict, int] | None) -> tuple[int, tuple[dict, int]]:
    """(bytes of the checkpoints one run keeps, with a cls run's export; its backbone as `count_parameters` gives it).
    A checkpoint: parameters × 4 B × (1 + optimiser state copies + an EMA copy). The cost plan counts with it too."""
    parameters, backbone = count_parameters(run, backbone)
    copies = (
        1
        + optimizer_state_copies(run.cfg)
        + any('EMA' in str(h.get('type')) for h in run.cfg.get('custom_hooks') or [])
    )
    size = parameters * BYTES_PER_PARAMETER * copies * checkpoints_kept(run.cfg)
    if run.task == 'cls':  # backbone.pth and backbone.safetensors
        size += 2 * backbone[1] * BYTES_PER_PARAMETER
    return size, backbone


def optimizer_state_copies(cfg) -> int:
    optimizer = (cfg.get('optim_wrapper') or {}).get('optimizer') or {}
    kind = str(optimizer.get('type', 'SGD')).rsplit('.', 1)[-1]
    if kind == 'SGD':
        return 1 if optimizer.get('momentum', 0) else 0
    return OPTIMIZER_STATE_COPIES.get(kind, 2)


def checkpoints_kept(cfg) -> int:
    """How many checkpoints the run keeps at its end: every interval (mmengine's default keeps all), at most
    max_keep_ckpts, plus the best one where save_best is set."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    loop = cfg.get('train_cfg') or {}
    length = loop.get('max_epochs') if hook.get('by_epoch', True) else loop.get('max_iters')
    saved = math.ceil((length or 1) / max(hook.get('interval', 1), 1))
    keep = hook.get('max_keep_ckpts', -1)
    return (min(saved, keep) if keep and keep > 0 else saved) + bool(hook.get('save_best'))


def count_parameters(run: Run, backbone: tuple[dict, int] | None) -> tuple[int, tuple[dict, int]]:
    """(parameters of the run's model, (its backbone's architecture config, the backbone's parameters)), built on the
    meta device (no memory, no init). A transfer model's backbone is the export of the cls run it reads: a stand-in
    export carrying that architecture lets the config build as it will (engine.cli's channel following included)."""
    model = copy.deepcopy(run.cfg.model)  # a ConfigDict: mmdet reads train_cfg.rpn as an attribute
    if run.task == 'cls':
        return _count_cls(model)
    return _count_transfer(run.task, model, backbone)


def _count_cls(model: dict) -> tuple[int, tuple[dict, int]]:
    from backbones.registry import MODELS  # cls.data's import registered the classifier

    with torch.device('meta'):
        net = MODELS.build(dict(model, teacher=None))  # a teacher is its own run
    parameters = sum(p.numel() for p in net.parameters())
    return parameters, (net.backbone.arch_config(), sum(p.numel() for p in net.backbone.parameters()))


def _count_transfer(task: str, model: dict, backbone: tuple[dict, int] | None) -> tuple[int, tuple]:
    from backbones.exported import follow_exported_channels
    from engine.cli import register_modules

    register_modules(TASKS[task])
    registry = importlib.import_module(f'{TASKS[task].toolkit}.registry').MODELS
    with tempfile.TemporaryDirectory(prefix='preflight-') as tmp:
        if str(model['backbone'].get('type', '')).endswith('ExportedBackbone') and backbone is not None:
            stand_in = osp.join(tmp, 'backbone.pth')
            torch.save(dict(state_dict={}, meta=dict(backbone=backbone[0])), stand_in)
            model['backbone']['checkpoint'] = stand_in
        follow_exported_channels(model, TASKS[task].backbone_readers, 'preflight')
        key = repr(model).replace(tmp, '')
        return _build_and_count(registry, key, model), backbone


_built: dict[str, int] = {}  # rows of a ladder share their models: one build each


def _build_and_count(registry, key: str, model: dict) -> int:
    if key not in _built:
        with torch.device('meta'), warnings.catch_warnings():
            warnings.simplefilter('ignore')  # mmseg's deprecation notes about its own loss configs
            _built[key] = sum(p.numel() for p in registry.build(model).parameters())
    return _built[key]
