"""The detection configs of configs/det: every ladder row builds with our backbone and loads its pretrained weights
unchanged; the demo detector trains and evaluates end to end through launch/cli.py on a tiny embedded world."""
import math
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import backbones
from backbones.errors import CheckpointError
from backbones.weights_check import check_backbone_weights
from cls.demo_world import THING_CLASSES, generate
from launch.cli import main

ROOT = Path(__file__).resolve().parents[1]
from toolkits import build_in_toolkit  # noqa: E402

pytestmark = pytest.mark.usefixtures('one_thread')

DET = ROOT / 'configs' / 'det'
DEMO_BASE = DET / '_base_' / 'demo.py'
ROWS = sorted(p for p in DET.rglob('*.py') if '_base_' not in p.parts)
NECK_IN = {'tricks.ResNet': None, 'tricks.NFNet': [256, 512, 1536, 3072]}


def build(cfg_model):
    return build_in_toolkit('mmdet', cfg_model)


def save_backbone(cfg: Config, path: Path, seed: int) -> Path:
    """Build the config's backbone alone (no init_cfg), give every tensor non-default values and save it as
    tools/export_backbone.py does."""
    torch.manual_seed(seed)
    backbone = build(dict(cfg.model.backbone, init_cfg=None))
    state = {k: (v + torch.randn_like(v) * 0.1 if v.is_floating_point() else v + 1)
             for k, v in backbone.state_dict().items()}
    torch.save({'state_dict': state, 'meta': {'trick_card': {}}}, path)
    return path


def test_demo_classes_match_the_world():
    assert tuple(Config.fromfile(str(DEMO_BASE)).classes) == THING_CLASSES


def test_rows_are_the_ladders():
    names = {str(p.relative_to(DET).with_suffix('')) for p in ROWS}
    assert names == {'demo/random_init', 'demo/resnet18b_standard', 'demo/resnet18d_cosine_ls',
                     'demo/resnet18d_cosine_ls_distill_mixup', 'voc/nfnet_f0'} | {
        f'voc/resnet50{s}' for s in ('b_standard', 'd_efficient', 'd_cosine', 'd_cosine_ls', 'd_cosine_ls_distill',
                                     'd_cosine_ls_mixup', 'd_cosine_ls_distill_mixup')}


@pytest.mark.parametrize('path', ROWS, ids=lambda p: str(p.relative_to(DET).with_suffix('')))
def test_row_builds_with_our_backbone_and_loads_its_weights(path: Path, tmp_path: Path):
    cfg = Config.fromfile(str(path))
    backbone_cfg = cfg.model.backbone
    assert backbone_cfg.type in NECK_IN
    init_cfg = backbone_cfg.get('init_cfg')
    if path.stem == 'random_init':
        assert init_cfg is None
    else:  # the exported backbone of the cls run of the same name (cls/<ladder>/<name>/backbone.pth)
        cls_name = 'nfnet_f0_agc' if path.stem == 'nfnet_f0' else path.stem
        ladder = 'imagenet' if path.parent.name == 'voc' else 'demo'
        assert init_cfg == dict(type='Pretrained', checkpoint=f'work_dirs/cls/{ladder}/{cls_name}/backbone.pth')
        assert (ROOT / 'configs' / 'cls' / ladder / f'{cls_name}.py').is_file()
        saved = save_backbone(cfg, tmp_path / 'backbone.pth', seed=1)
        cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': str(saved)})
    if path.parent.name == 'demo':
        assert cfg.model.roi_head.bbox_head.num_classes == len(THING_CLASSES)
        assert tuple(cfg.train_dataloader.dataset.metainfo.classes) == THING_CLASSES
    else:
        assert cfg.model.roi_head.bbox_head.num_classes == 20
        assert cfg.train_dataloader.dataset.type == 'RepeatDataset'  # the stock VOC07+12 ×3

    model = build(cfg.model)
    assert isinstance(model.backbone, backbones.NFNet if 'NFNet' in backbone_cfg.type else backbones.ResNet)
    if backbone_cfg.get('variant'):
        assert model.backbone.variant == backbone_cfg.variant
    assert list(model.neck.in_channels) == list(model.backbone.out_channels)
    expected = NECK_IN[backbone_cfg.type] or ([16, 32, 64, 128] if path.parent.name == 'demo' else
                                              [256, 512, 1024, 2048])
    assert list(model.backbone.out_channels) == expected
    if init_cfg is not None:
        model.init_weights()
        assert check_backbone_weights(model.backbone, str(saved)) == len(model.backbone.state_dict())


def test_demo_pretrained_weights_reach_the_detector_unchanged(tmp_path: Path):
    cfg = Config.fromfile(str(DEMO_BASE))
    good = save_backbone(cfg, tmp_path / 'good.pth', seed=2)
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': str(good)})
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
# End to end through launch/cli.py on a tiny world

@pytest.fixture(scope='module')
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('world')
    generate(out, seed=0, scenes_train=16, scenes_val=8)
    return out / 'voc'


QUICK = ['train_cfg.max_iters=2', 'default_hooks.logger.interval=1',
         'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False']


def train(config: Path, work_dir: Path, world: Path, *options: str):
    runner = main('det', 'train', [str(config), '--work-dir', str(work_dir), '--data-root', str(world),
                                   '--cfg-options', *QUICK, *options])
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
    saved = save_backbone(Config.fromfile(str(config)), tmp / 'backbone.pth', seed=3)
    runner, log = train(config, tmp / 'work', world, f'model.backbone.init_cfg.checkpoint={saved}')
    return tmp / 'work', saved, runner, log


def test_demo_random_init_trains_one_iteration(world, tmp_path: Path):
    _, log = train(DET / 'demo' / 'random_init.py', tmp_path / 'work', world)
    assert 'BackboneWeightsCheckHook: the backbone has no Pretrained init_cfg' in log


def test_demo_pretrained_trains_and_the_check_hook_saw_its_weights(pretrained_run):
    work, saved, runner, log = pretrained_run
    count = len(runner.model.backbone.state_dict())
    assert f'BackboneWeightsCheckHook: all {count} backbone tensors equal {saved}' in log
    # validation ran at the last iteration, on the 8 val scenes
    assert 0.0 <= runner.message_hub.get_scalar('val/pascal_voc/mAP').current() <= 1.0


def test_demo_test_mode_reports_voc_map(pretrained_run, world, tmp_path: Path):
    work = pretrained_run[0]
    runner = main('det', 'test', [str(DET / 'demo' / 'resnet18d_cosine_ls.py'), str(work / 'iter_2.pth'),
                                  '--work-dir', str(tmp_path), '--data-root', str(world)])
    mAP = runner.message_hub.get_scalar('test/pascal_voc/mAP').current()  # VOCMetric's key, 11-point VOC07 AP
    assert isinstance(mAP, float) and 0.0 <= mAP <= 1.0
    assert len(runner.test_dataloader.dataset) == 8


@pytest.mark.parametrize('classes, named', [(THING_CLASSES, THING_CLASSES), (None, 'voc')])
def test_voc_metric_names_the_datasets_own_classes(classes, named, monkeypatch):
    """mmdet's VOCMetric names Pascal's 20 classes for any folder called VOC2007; ours keeps the dataset's own and the
    same AP (the computation is mmdet's)."""
    import numpy as np
    from mmdet.evaluation.functional import get_classes
    from mmdet.evaluation.metrics import voc_metric

    import det
    classes = classes or get_classes('voc')
    seen = {}

    def eval_map(*args, dataset=None, **kwargs):
        seen['dataset'] = dataset
        return 0.5, []
    monkeypatch.setattr(voc_metric, 'eval_map', eval_map)
    metric = det.VOCMetric(metric='mAP', eval_mode='11points')
    metric.dataset_meta = dict(classes=classes, dataset_type='VOC2007')
    box = np.array([[0, 0, 10, 10]], dtype=np.float32)
    annotation = dict(labels=np.array([0]), bboxes=box, bboxes_ignore=np.zeros((0, 4)), labels_ignore=np.array([]))
    result = metric.compute_metrics([(annotation, [box] + [np.zeros((0, 5))] * (len(classes) - 1))])
    assert result['mAP'] == 0.5
    assert seen['dataset'] == named
    assert metric.dataset_meta['dataset_type'] == 'VOC2007'  # restored
