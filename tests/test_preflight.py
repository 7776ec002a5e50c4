"""tools/preflight.py on the paper ladder (configs/ladders/paper.py) pointed at a made-up layout (datagen.layouts):
the correct layout passes, and each broken one is named in exactly one problem line. The machine's lines are this
machine's own (no GPU in CI), not mocked."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image
from tool_env import ROOT, tool_env

from datagen.layouts import make_layouts
from engine.preflight import Preflight, Run, plan_runs, report, run_checks
from engine.standard_sets import ADE20K, IMAGENET, VOC0712

PAPER_NPROC = Config.fromfile(str(ROOT / 'configs/ladders/paper.py')).nproc_per_node


@pytest.fixture(scope='module')
def paper(tmp_path_factory):
    """The paper ladder's resolved steps on a made-up layout (planned once: ~10 s), and its root."""
    root = tmp_path_factory.mktemp('preflight')
    roots = make_layouts(root / 'data')
    ladder = root / 'paper_made_up.py'
    # One checkpoint kept per transfer step: the paper's keep-all (about 50 GiB) would not fit every test machine.
    kept = {'default_hooks.checkpoint.max_keep_ckpts': 1}
    ladder.write_text(
        f'_base_ = {str(ROOT / "configs/ladders/paper.py")!r}\n'
        f'data_roots = {roots!r}\n'
        f'out = {str(root / "out")!r}\n'
        f'cfg_options = dict(det={kept!r}, seg={kept!r})\n'
    )
    runs, work_dir, _ = plan_runs(str(ladder))
    return dict(root=root, ladder=ladder, runs=runs, work_dir=work_dir)


@pytest.fixture
def roots(paper):
    """A fresh made-up layout where the ladder reads it (a test before may have broken it)."""
    return make_layouts(paper['root'] / 'data')


def preflight(paper, counts='any', work_dir=None) -> Preflight:
    return run_checks(Preflight(paper['runs'], work_dir or paper['work_dir'], samples=8, counts=counts))


def gpu_line(counts: str) -> str:
    """What this machine answers to the paper's nproc_per_node."""
    gpus = torch.cuda.device_count()
    if gpus >= PAPER_NPROC:
        return f'ok: {gpus} GPU(s) for nproc_per_node={PAPER_NPROC}'
    level = 'problem' if counts == 'full' else 'warning'
    return f'{level}: nproc_per_node={PAPER_NPROC} asks for {PAPER_NPROC} GPU(s), this machine has {gpus}'


def test_a_correct_made_up_layout_passes(paper, roots):
    done = subprocess.run(
        [sys.executable, str(ROOT / 'tools/preflight.py'), str(paper['ladder']), '--counts', 'any'],
        capture_output=True,
        text=True,
        env=tool_env(),
        cwd=ROOT,
        timeout=300,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert not [line for line in lines if line.startswith('problem:')]
    assert lines[-1].startswith('preflight: all is well (0 problems')
    assert any(line.startswith(gpu_line('any')) for line in lines), lines
    cuda = torch.version.cuda or 'none (CPU build)'
    assert any(line.startswith('info: torch') and f'CUDA {cuda}' in line for line in lines), lines
    assert any(line.startswith('ok: mmcv') and 'compiled ops work' in line for line in lines), lines
    assert any(line.startswith('ok: the runs write about') and 'GiB free at' in line for line in lines), lines
    # every split of the three data sets was counted and sampled
    for split_dir in ('imagenet/train', 'imagenet/val', 'VOC2007/ImageSets/Main/trainval.txt',
                      'VOC2012/ImageSets/Main/trainval.txt', 'VOC2007/ImageSets/Main/test.txt', 'images/training',
                      'images/validation'):  # fmt: skip
        assert any(f'{split_dir} (' in line and 'sampled images decode' in line for line in lines), split_dir


def _flat_val(roots):
    val = roots['cls'] + '/val'
    for image in sorted(Path(val).glob('*/*.JPEG')):
        image.rename(Path(val) / image.name)
    for folder in Path(val).iterdir():
        if folder.is_dir():
            folder.rmdir()
    (Path(roots['cls']) / 'LOC_val_solution.csv').write_text('ImageId,PredictionString\n')
    return f'{val} (', 'lie flat in the split folder with a label file', 'LOC_val_solution.csv', 'README.md'


def _label_past_150(roots):
    label = sorted(Path(roots['seg'], 'annotations', 'training').glob('*.png'))[0]
    values = np.array(Image.open(label))
    values[0, 0] = 151
    Image.fromarray(values).save(label)
    return str(label), 'label value 151 is out of range (valid: 1..150, 0 and 255 ignored)'


def _no_voc2012(roots):
    shutil.rmtree(Path(roots['det'], 'VOC2012'))
    return f'{roots["det"]}/VOC2012: folder not found', 'ann_file VOC2012/ImageSets/Main/trainval.txt'


def _undecodable_image(roots):
    image = sorted(Path(roots['cls'], 'train').glob('*/*.JPEG'))[0]
    image.write_bytes(image.read_bytes()[:200])
    return str(image), 'does not decode'


@pytest.mark.parametrize(
    'breaks',
    [_no_voc2012, _flat_val, _label_past_150, _undecodable_image],
    ids=['VOC2012 absent', 'flat ImageNet val', 'ADE label past 150', 'an image that does not decode'],
)
def test_a_broken_layout_is_named_in_one_problem_line(paper, roots, breaks, capsys):
    named = breaks(roots)
    check = preflight(paper)
    assert [str(p) for p in check.problems] == [str(check.problems[0])], [str(p) for p in check.problems]
    assert all(part in check.problems[0].text for part in named), check.problems[0].text
    assert report(check) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith('preflight: not ready (1 problem,')


def test_a_work_dir_that_cannot_be_made_is_one_problem(paper, roots):
    blocker = paper['root'] / 'a_file'
    blocker.write_text('not a folder')
    check = preflight(paper, work_dir=str(blocker / 'out'))
    assert len(check.problems) == 1, [str(p) for p in check.problems]
    assert check.problems[0].text.startswith(f'work dir {blocker}/out is not writable (NotADirectoryError')


def test_full_counts_name_the_difference_for_each_split(paper, roots):
    check = preflight(paper, counts='full')
    problems = [p.text for p in check.problems]
    expected = [
        (f'{roots["cls"]}/train (', f'6 images in 3 class folders where {IMAGENET.name} train has 1,281,167 '
         f'(1,281,161 missing)'),
        (f'{roots["cls"]}/val (', f'where {IMAGENET.name} val has 50,000 (49,994 missing)'),
        ('VOC2007/ImageSets/Main/trainval.txt (', f'6 images where {VOC0712.name} VOC2007/trainval has 5,011'),
        ('VOC2012/ImageSets/Main/trainval.txt (', f'6 images where {VOC0712.name} VOC2012/trainval has 11,540'),
        ('VOC2007/ImageSets/Main/test.txt (', f'6 images where {VOC0712.name} VOC2007/test has 4,952 (4,946 missing)'),
        ('images/training (', f'where {ADE20K.name} training has 20,210 (20,204 missing)'),
        ('images/validation (', f'where {ADE20K.name} validation has 2,000 (1,994 missing)'),
    ]  # fmt: skip
    for where, count in expected:
        assert [p for p in problems if where in p and count in p], (where, count, problems)
    assert sum(f'3 class folders where {IMAGENET.name} has 1,000' in p for p in problems) == 2  # train and val
    machine = gpu_line('full')
    assert [str(f) for f in check.findings if str(f).startswith(machine)]
    assert len(problems) == len(expected) + 2 + machine.startswith('problem')


def test_the_made_up_layout_builds_as_the_paper_configs_datasets(paper, roots):
    """What the preflight passes, the toolkits read: mmdet's VOC parser (tricks.VOCDataset), mmseg's ADE20KDataset
    and tricks.ImageFolder build every split of the made-up layout, every image and object kept."""
    import importlib

    from engine.cli import register_modules
    from engine.tasks import TASKS

    first = {run.task: run for run in reversed(paper['runs'])}
    sizes = {}
    for task, run in first.items():
        register_modules(TASKS[task])
        registry = importlib.import_module(f'{TASKS[task].toolkit or "backbones"}.registry').DATASETS
        for loader in ('train_dataloader', 'val_dataloader'):
            dataset = registry.build(run.cfg[loader].dataset)
            sizes[task, loader] = len(dataset)
    assert sizes == {
        ('cls', 'train_dataloader'): 6,
        ('cls', 'val_dataloader'): 6,
        ('det', 'train_dataloader'): 3 * (6 + 6),  # RepeatDataset(times=3) of VOC2007 + VOC2012 trainval
        ('det', 'val_dataloader'): 6,
        ('seg', 'train_dataloader'): 6,
        ('seg', 'val_dataloader'): 6,
    }


def test_the_disk_estimate_counts_the_checkpoints_each_step_keeps(paper):
    """cls: the last and the best (max_keep_ckpts=1, save_best); det: one per epoch of 4, seg: one per 8,000 of 80,000
    iterations (mmengine keeps all), here cut to one by the test ladder's cfg_options."""
    from engine.cli import RunSettings, load_config
    from engine.preflight import checkpoints_kept
    from engine.tasks import TASKS

    kept = {run.task: checkpoints_kept(run.cfg) for run in paper['runs']}
    assert kept == dict(cls=2, det=1, seg=1)
    stock = {
        task: checkpoints_kept(load_config(TASKS[task], RunSettings(str(ROOT / config)), register=False))
        for task, config in (
            ('det', 'configs/det/voc/resnet50b_standard.py'),
            ('seg', 'configs/seg/ade20k/nfnet_f0.py'),
        )
    }
    assert stock == dict(det=4, seg=10)


def test_a_dataset_type_it_does_not_know_is_a_warning(tmp_path):
    cfg = Config(dict(train_dataloader=dict(dataset=dict(type='CocoDataset', data_root='data/coco/')),
                      model=dict(num_classes=80)))  # fmt: skip
    check = run_checks(Preflight([Run('coco.py', 'cls', cfg)], str(tmp_path / 'work'), counts='any'))
    warned = 'warning: cannot check CocoDataset (config key coco.py: train_dataloader.dataset)'
    assert [str(f) for f in check.findings if str(f).startswith(warned)], check.findings
    assert not check.problems, check.findings


def test_a_missing_config_is_one_error_line(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / 'tools/preflight.py'), str(tmp_path / 'nowhere.py')],
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=120,
    )
    assert done.returncode == 1 and done.stderr.strip() == f'error: config file {tmp_path / "nowhere.py"} not found'
