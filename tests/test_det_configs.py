"""The detection configs of configs/det: every ladder row builds with our backbone and loads its pretrained weights
unchanged; the demo detector trains and evaluates end to end through engine/cli.py on a tiny embedded world."""

import math
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from recipes import ROOT, fake_export
from toolkits import build_in_toolkit

import backbones
from backbones.errors import CheckpointError
from datagen.demo_world import THING_CLASSES, generate
from engine.cli import main
from engine.hooks import check_backbone_weights

pytestmark = pytest.mark.usefixtures('one_thread')

DET = ROOT / 'configs' / 'det'
DEMO_BASE = DET / '_base_' / 'demo.py'
DEMO_CLS = ROOT / 'configs/cls/demo/resnet18d_cosine_ls.py'
ROWS = sorted(p for p in DET.rglob('*.py') if '_base_' not in p.parts)


def build(cfg_model):
    return build_in_toolkit('mmdet', cfg_model)


def cls_recipe(row: Path) -> Path:
    """The cls recipe whose export a det row fine-tunes (the same name, NFNet's aside)."""
    ladder = 'imagenet' if row.parent.name == 'voc' else 'demo'
    return ROOT / 'configs' / 'cls' / ladder / f'{"nfnet_f0_agc" if row.stem == "nfnet_f0" else row.stem}.py'


def test_demo_classes_match_the_world():
    assert tuple(Config.fromfile(str(DEMO_BASE)).classes) == THING_CLASSES


def test_rows_are_the_ladders():
    names = {str(p.relative_to(DET).with_suffix('')) for p in ROWS}
    assert names == {
        'demo/random_init',
        'demo/resnet9_random_init',
        'demo/resnet18b_standard',
        'demo/resnet18d_cosine_ls',
        'demo/resnet18d_cosine_ls_distill_mixup',
        'voc/nfnet_f0',
    } | {
        f'voc/resnet50{s}'
        for s in (
            'b_standard',
            'd_efficient',
            'd_cosine',
            'd_cosine_ls',
            'd_cosine_ls_distill',
            'd_cosine_ls_mixup',
            'd_cosine_ls_distill_mixup',
        )
    }


@pytest.mark.parametrize('path', ROWS, ids=lambda p: str(p.relative_to(DET).with_suffix('')))
def test_row_names_its_backbone_once_and_builds_the_exported_architecture(path: Path, tmp_path: Path):
    cfg = Config.fromfile(str(path))
    backbone_cfg = cfg.model.backbone
    assert {'type': 'tricks.BackboneWeightsCheckHook'} in cfg.custom_hooks
    assert {'type': 'tricks.PlainCheckpointHook'} in cfg.custom_hooks
    if path.stem.endswith('random_init'):  # the controls, named by hand
        assert backbone_cfg.type in ('tricks.ResNet', 'tricks.ResNet9') and backbone_cfg.get('init_cfg') is None
    else:  # by the file its cls recipe exports, and nothing of the architecture beside it
        recipe = cls_recipe(path)
        assert backbone_cfg.type == 'tricks.ExportedBackbone'
        assert backbone_cfg.checkpoint == f'work_dirs/cls/{recipe.parent.name}/{recipe.stem}/backbone.pth'
        assert not {'depth', 'variant', 'arch', 'base_channels', 'init_cfg'} & set(backbone_cfg)
        backbone_cfg.checkpoint = str(fake_export(recipe, tmp_path / 'backbone.pth', seed=1))
    if path.parent.name == 'demo':
        assert cfg.model.roi_head.bbox_head.num_classes == len(THING_CLASSES)
        assert tuple(cfg.train_dataloader.dataset.metainfo.classes) == THING_CLASSES
    else:
        assert cfg.model.roi_head.bbox_head.num_classes == 20
        assert cfg.train_dataloader.dataset.type == 'RepeatDataset'  # the stock VOC07+12 ×3

    model = build(cfg.model)
    assert list(model.neck.in_channels) == list(model.backbone.out_channels)
    assert model.backbone.frozen_stages == 1 and len(model.backbone.out_indices) == len(model.neck.in_channels)
    if not path.stem.endswith('random_init'):
        recipe_backbone = Config.fromfile(str(recipe)).model.backbone
        assert isinstance(model.backbone, backbones.NFNet if 'NFNet' in recipe_backbone.type else backbones.ResNet)
        for key in {'depth', 'variant', 'base_channels', 'arch'} & set(recipe_backbone):
            assert getattr(model.backbone, key) == recipe_backbone[key], key
        model.init_weights()
        assert check_backbone_weights(model.backbone, backbone_cfg.checkpoint) == len(model.backbone.state_dict())


def test_demo_pretrained_weights_reach_the_detector_unchanged(tmp_path: Path):
    cfg = Config.fromfile(str(DEMO_BASE))
    good = fake_export(DEMO_CLS, tmp_path / 'good.pth', seed=2)
    cfg.model.backbone.checkpoint = str(good)
    model = build(cfg.model)
    model.init_weights()
    assert check_backbone_weights(model.backbone, str(good)) > 0

    state = torch.load(good, weights_only=True)
    key = 'layer3.0.conv1.weight'
    state['state_dict'][key] = state['state_dict'][key] + 1e-3
    torch.save(state, tmp_path / 'perturbed.pth')
    with pytest.raises(CheckpointError, match=re.escape(key)):
        check_backbone_weights(model.backbone, str(tmp_path / 'perturbed.pth'))


# --------------------------------------------------------------------------------------------------------------------
# End to end through engine/cli.py on a tiny world


@pytest.fixture(scope='module')
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('world')
    generate(out, seed=0, scenes_train=16, scenes_val=8)
    return out / 'voc'


QUICK = [
    'train_cfg.max_iters=2',
    'default_hooks.logger.interval=1',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
]


def train(config: Path, work_dir: Path, world: Path, *options: str):
    runner = main(
        'det',
        'train',
        [str(config), '--work-dir', str(work_dir), '--data-root', str(world), '--cfg-options', *QUICK, *options],
    )
    assert runner.iter == 2
    losses = runner.message_hub.log_scalars
    for key in ('loss', 'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'):
        values = losses[f'train/{key}'].data[0]
        assert len(values) == 2 and all(math.isfinite(v) for v in values), (key, values)
    assert (work_dir / 'iter_2.pth').is_file()
    log = next(work_dir.glob('*/*.log')).read_text()
    assert 'BackboneWeightsCheckHook: ' in log
    return runner, log


@pytest.fixture(scope='module')
def pretrained_run(world, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('pretrained')
    config = DET / 'demo' / 'resnet18d_cosine_ls.py'
    saved = fake_export(DEMO_CLS, tmp / 'backbone.pth', seed=3)
    runner, log = train(config, tmp / 'work', world, f'model.backbone.checkpoint={saved}')
    return tmp / 'work', saved, runner, log


def test_an_export_of_another_width_feeds_the_neck_its_own_channels(world, tmp_path: Path, capfd):
    """A quarter-width ResNet-26-D's export (bottleneck maps of 64..512 channels) fed to the demo row written for a
    ResNet-18's (16..128) used to end deep in the FPN ('expected input to have 16 channels, but got 64')."""
    MMLogger.get_instance(f'exported-channels-{tmp_path.name}')  # the current logger prints to this test's stdout
    saved = fake_export(ROOT / 'configs/cls/demo/resnet26d_efficient.py', tmp_path / 'backbone.pth', seed=4)
    runner, _ = train(
        DET / 'demo' / 'resnet18d_cosine_ls.py', tmp_path / 'work', world, f'model.backbone.checkpoint={saved}'
    )
    assert list(runner.model.neck.in_channels) == [64, 128, 256, 512]  # base 16 × expansion 4 × 2^stage
    printed = capfd.readouterr()
    assert f'model.neck.in_channels [16, 32, 64, 128] → [64, 128, 256, 512], the channels of {saved}' in (
        printed.out + printed.err
    )


def test_demo_random_init_trains_one_iteration(world, tmp_path: Path):
    _, log = train(DET / 'demo' / 'random_init.py', tmp_path / 'work', world)
    assert 'BackboneWeightsCheckHook: the backbone has no Pretrained init_cfg' in log


def test_demo_pretrained_trains_and_the_check_hook_saw_its_weights(pretrained_run):
    work, saved, runner, log = pretrained_run
    count = len(runner.model.backbone.state_dict())
    assert f'BackboneWeightsCheckHook: all {count} backbone tensors equal {saved}' in log


def test_demo_test_tool_reproduces_the_validation_of_the_checkpoint_it_loads(pretrained_run, world, tmp_path: Path):
    work, saved, trained, _ = pretrained_run
    validated = trained.message_hub.get_scalar('val/pascal_voc/mAP').current()  # at iteration 2, the saved model
    runner = main(
        'det',
        'test',
        [
            str(DET / 'demo' / 'resnet18d_cosine_ls.py'),
            str(work / 'iter_2.pth'),
            '--work-dir',
            str(tmp_path),
            '--data-root',
            str(world),
            '--cfg-options',
            f'model.backbone.checkpoint={saved}',
        ],
    )  # the architecture's source
    assert len(runner.test_dataloader.dataset) == 8
    saved_state = torch.load(work / 'iter_2.pth', weights_only=True)['state_dict']
    assert all(torch.equal(v, saved_state[k]) for k, v in runner.model.state_dict().items())  # the trained weights
    assert runner.message_hub.get_scalar('test/pascal_voc/mAP').current() == pytest.approx(validated, abs=1e-9)


@pytest.mark.parametrize('pascal_names', [False, True])
def test_voc_metric_names_the_datasets_own_classes_and_computes_voc07_map(pascal_names):
    """mmdet's VOCMetric names Pascal's 20 classes for any folder called VOC2007; ours names the dataset's own. The
    answer key by hand: class 0 found exactly (AP 1), class 1 missed (AP 0), so mAP 0.5 over the classes present."""
    import io
    import logging

    import numpy as np
    from mmdet.evaluation.functional import get_classes
    from mmengine.logging import MMLogger

    import det

    classes = tuple(get_classes('voc')) if pascal_names else THING_CLASSES
    metric = det.VOCMetric(metric='mAP', eval_mode='11points')
    metric.dataset_meta = dict(classes=classes, dataset_type='VOC2007')
    boxes = np.array([[0, 0, 10, 10], [20, 20, 40, 40]], dtype=np.float32)
    annotation = dict(labels=np.array([0, 1]), bboxes=boxes, bboxes_ignore=np.zeros((0, 4)), labels_ignore=np.array([]))
    detections = [np.array([[0, 0, 10, 10, 0.9]], dtype=np.float32)] + [np.zeros((0, 5))] * (len(classes) - 1)
    table = io.StringIO()
    logger = MMLogger.get_current_instance()
    handler = logging.StreamHandler(table)
    logger.addHandler(handler)
    try:
        result = metric.compute_metrics([(annotation, detections)])
    finally:
        logger.removeHandler(handler)
    assert result['mAP'] == pytest.approx(0.5)
    assert f'| {classes[0]} ' in table.getvalue() and f'| {classes[1]} ' in table.getvalue()
    assert metric.dataset_meta['dataset_type'] == 'VOC2007'  # restored
