"""tools/run_ladder.py --plan (ladder/costs.py): the paper ladder's cost table, each figure checked against one
recomputed here from the configs, the published set sizes, the cited throughput and models built here."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from tool_env import tool_env

from backbones.complexity import measure
from backbones.resnet import ResNet
from ladder.plan import plan

ROOT = Path(__file__).resolve().parents[1]
PAPER = 'configs/ladders/paper.py'
IMAGENET_TRAIN = 1_281_167  # ILSVRC 2012 train, as published
NVIDIA_RN50_AMP = 2470  # img/s, one A100-80GB (NVIDIA DeepLearningExamples, shared/reference/paper.md)


def plan_table(config: str, cwd: Path = ROOT) -> dict[str, dict[str, str]]:
    """Run `--plan` and read its table: step key → column → cell."""
    result = subprocess.run(
        [sys.executable, str(ROOT / 'tools/run_ladder.py'), '--config', config, '--plan'],
        cwd=cwd,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith('| ')]
    header = [cell.strip() for cell in lines[0].strip('|').split('|')]
    rows = [dict(zip(header, (cell.strip() for cell in line.strip('|').split('|')))) for line in lines[1:]]
    return {row['step']: row for row in rows} | {'': {'text': result.stdout}}


def number(cell: str) -> float:
    return float(cell.split()[0].replace(',', ''))


@pytest.fixture(scope='module')
def paper_table():
    return plan_table(PAPER)


@pytest.fixture(scope='module')
def paper_ladder():
    return plan(PAPER)


def test_every_step_has_a_row(paper_table, paper_ladder):
    assert len(paper_ladder.steps) == 25
    assert set(paper_ladder.steps) <= set(paper_table)
    assert 'total: 25 steps' in paper_table['']['text']
    assert 'results.md' not in paper_table['']['text']  # nothing ran


def test_epoch_based_imagenet_iterations_and_images(paper_table, paper_ladder):
    for key in ('cls/resnet50b_standard', 'cls/resnet50d_efficient', 'cls/nfnet_f0_agc'):
        cfg = paper_ladder.steps[key].resolve()
        per_iteration = cfg.train_dataloader.batch_size * 8
        iterations = cfg.train_cfg.max_epochs * math.ceil(IMAGENET_TRAIN / per_iteration)
        row = paper_table[key]
        assert number(row['iterations']) == iterations, key
        assert number(row['images']) == iterations * per_iteration, key
        assert row['train set'] == 'published', key


def test_resnet50d_hours_at_the_cited_throughput(paper_table, paper_ladder):
    own = ROOT / 'docs/gpu_check.json'
    assert not own.exists() or json.loads(own.read_text()).get('dry_run'), 'own figure present: update this test'
    cfg = paper_ladder.steps['cls/resnet50d_efficient'].resolve()
    size = next(t['size'] for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'tricks.RandomResizedCrop')
    ratio = measure(ResNet(depth=50, variant='b'), 224).macs / measure(ResNet(depth=50, variant='d'), size).macs
    row = paper_table['cls/resnet50d_efficient']
    wall = number(row['images']) / (NVIDIA_RN50_AMP * ratio * 8) / 3600
    assert number(row['h on 8 GPUs']) == pytest.approx(wall, abs=0.006)
    assert number(row['GPU-h']) == pytest.approx(wall * 8, abs=0.006)
    assert number(row['img/s/GPU (source)']) == pytest.approx(NVIDIA_RN50_AMP * ratio, abs=0.6)
    assert 'DeepLearningExamples' in paper_table['']['text'] and 'A100' in paper_table['']['text']


def test_resnet50d_checkpoint_disk(paper_table, paper_ladder):
    from mmengine.registry import MODELS

    import cls  # noqa: F401  (registers tricks.ImageClassifier)

    cfg = paper_ladder.steps['cls/resnet50d_efficient'].resolve()
    model = MODELS.build(cfg.model)
    params = sum(p.numel() for p in model.parameters())
    backbone = sum(p.numel() for p in model.backbone.parameters())
    assert cfg.optim_wrapper.optimizer.type == 'SGD' and cfg.optim_wrapper.optimizer.momentum > 0
    hook = cfg.default_hooks.checkpoint
    kept = hook.max_keep_ckpts + (1 if hook.save_best else 0)
    expected = params * 4 * 2 * kept + backbone * 4 * 2  # weights + momentum, per checkpoint; .pth + .safetensors
    assert number(paper_table['cls/resnet50d_efficient']['checkpoint disk']) == pytest.approx(expected / 1e9, abs=0.006)


def test_seg_says_it_has_no_figure(paper_table):
    assert paper_table['seg/resnet50d_efficient']['GPU-h'] == '—'
    assert 'seg: no reference figure' in paper_table['']['text']


def test_a_data_root_on_disk_is_counted(tmp_path):
    for wnid, count in (('n01', 3), ('n02', 4)):
        folder = tmp_path / 'set' / 'train' / wnid
        folder.mkdir(parents=True)
        for index in range(count):
            (folder / f'{index}.JPEG').write_bytes(b'')
    (tmp_path / 'set' / 'train' / 'n01' / 'notes.txt').write_text('not an image')
    config = tmp_path / 'ladder.py'
    config.write_text(
        f"data_roots = dict(cls='{tmp_path / 'set'}')\n"
        f"out = '{tmp_path / 'out'}'\n"
        "rows = [dict(name='D', cls='configs/cls/imagenet/resnet50d_efficient.py')]\n"
    )
    row = plan_table(str(config))['cls/resnet50d_efficient']
    cfg = plan(str(config)).steps['cls/resnet50d_efficient'].resolve()
    batch = cfg.train_dataloader.batch_size
    assert row['train set'] == 'counted'
    assert number(row['iterations']) == cfg.train_cfg.max_epochs * math.ceil(7 / batch)
    assert number(row['images']) == cfg.train_cfg.max_epochs * math.ceil(7 / batch) * batch
