"""The segmentation configs (configs/seg): every ladder row builds our backbone through mmseg, its pretrained weights
arrive unchanged, and the demo trains and tests end to end through launch/cli.py on a tiny generated ADE-format set."""
import math
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

import backbones
from backbones.errors import CheckpointError
from backbones.weights_check import check_backbone_weights
from cls.demo_world import SEG_CLASSES, generate
from launch.cli import main

ROOT = Path(__file__).resolve().parents[1]
from toolkits import build_in_toolkit  # noqa: E402

SEG = ROOT / 'configs' / 'seg'
CONFIGS = sorted(p for p in SEG.rglob('*.py') if '_base_' not in p.parts)
DEMO_BASE = SEG / '_base_' / 'demo.py'
CHECKPOINT_RE = re.compile(r'work_dirs/cls/(demo|imagenet)/([\w]+)/backbone\.pth')

pytestmark = [pytest.mark.usefixtures('one_thread'),
              pytest.mark.filterwarnings('ignore:``build_loss`` would be deprecated:UserWarning',
                                         'ignore:Default ``avg_non_ignore`` is False:UserWarning')]


def build(cfg_model):
    return build_in_toolkit('mmseg', cfg_model)


def save_fresh_backbone(cfg: Config, path: Path, perturb: bool = False) -> str:
    """A freshly built backbone of the config's own kind, saved as tools/export_backbone.py does (keys without the
    `backbone.` prefix, under 'state_dict'); `perturb` adds 1 to one tensor afterwards."""
    backbone_cfg = cfg.model.backbone.copy()
    backbone_cfg.init_cfg = None
    torch.manual_seed(1)
    state = build(backbone_cfg).state_dict()
    if perturb:
        key = next(k for k, v in state.items() if v.is_floating_point())
        state[key] = state[key] + 1
    torch.save({'state_dict': state, 'meta': {}}, path)
    return str(path)


def conv3x3(block) -> torch.nn.Conv2d:
    """The block's first 3x3 conv: the one that carries its stride and dilation (conv1 of a BasicBlock, conv2 of a
    Bottleneck)."""
    return next(m for m in block.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))


def test_every_seg_config_is_covered():
    names = {str(p.relative_to(SEG)) for p in CONFIGS}
    assert names == {
        'demo/random_init.py', 'demo/resnet18b_standard.py', 'demo/resnet18d_cosine_ls.py',
        'demo/resnet18d_cosine_ls_distill_mixup.py',
        'ade20k/nfnet_f0.py', 'ade20k/resnet50b_standard.py', 'ade20k/resnet50d_efficient.py',
        'ade20k/resnet50d_cosine.py', 'ade20k/resnet50d_cosine_ls.py', 'ade20k/resnet50d_cosine_ls_distill.py',
        'ade20k/resnet50d_cosine_ls_mixup.py', 'ade20k/resnet50d_cosine_ls_distill_mixup.py'}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(SEG)))
def test_config_builds_our_backbone_through_mmseg(path: Path, tmp_path: Path):
    cfg = Config.fromfile(str(path))
    ladder, name = path.parent.name, path.stem
    backbone_cfg = cfg.model.backbone
    assert cfg.model.type == 'EncoderDecoder' and cfg.model.pretrained is None
    assert {'type': 'tricks.BackboneWeightsCheckHook'} in cfg.custom_hooks
    assert {'type': 'tricks.PlainCheckpointHook'} in cfg.custom_hooks

    # The row's checkpoint is the exported backbone of the matching, existing cls config.
    if name == 'random_init':
        assert backbone_cfg.init_cfg is None and cfg.backbone_checkpoint is None
    else:
        assert backbone_cfg.init_cfg == dict(type='Pretrained', checkpoint=cfg.backbone_checkpoint)
        match = CHECKPOINT_RE.fullmatch(cfg.backbone_checkpoint)
        assert match and match[1] == {'demo': 'demo', 'ade20k': 'imagenet'}[ladder], cfg.backbone_checkpoint
        assert match[2] == {'nfnet_f0': 'nfnet_f0_agc'}.get(name, name)
        assert (ROOT / 'configs' / 'cls' / match[1] / f'{match[2]}.py').is_file()
        backbone_cfg.init_cfg.checkpoint = save_fresh_backbone(cfg, tmp_path / 'backbone.pth')

    # Every dataset under the one data_root variable.
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.data_root == cfg.data_root
    if ladder == 'demo':
        assert cfg.data_root == 'data/demo/ade/'
        assert tuple(cfg.classes) == SEG_CLASSES and cfg.model.decode_head.num_classes == len(SEG_CLASSES)
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            dataset = cfg[key].dataset
            assert dataset.type == 'BaseSegDataset' and dataset.reduce_zero_label
            assert tuple(dataset.metainfo.classes) == SEG_CLASSES
        assert cfg.train_dataloader.batch_size == 8 and cfg.model.data_preprocessor.size == (96, 96)
        assert cfg.train_cfg.max_iters <= 500
    else:  # the stock config, unchanged
        assert cfg.train_dataloader.dataset.type == 'ADE20KDataset' and cfg.train_cfg.max_iters == 80000
        assert cfg.model.data_preprocessor.size == (512, 512) and cfg.model.decode_head.num_classes == 150

    model = build(cfg.model)
    backbone = model.backbone
    if name.startswith('nfnet'):
        assert isinstance(backbone, backbones.NFNet) and backbone.arch == 'dm_nfnet_f0'
    else:
        assert isinstance(backbone, backbones.ResNet)
        assert backbone.variant == ('b' if 'resnet50b' in name or 'resnet18b' in name else 'd')
        first = [conv3x3(getattr(backbone, f'layer{i}')[0]) for i in (1, 2, 3, 4)]
        assert [c.stride[0] for c in first] == [1, 2, 1, 1]  # dilated D8, as in the stock base
        assert [c.dilation[0] for c in first] == [1, 1, 1, 2]  # contract_dilation: first block at half
        assert conv3x3(backbone.layer4[-1]).dilation[0] == 4
    heads = (model.decode_head, model.auxiliary_head)
    assert [backbone.out_channels[h.in_index] for h in heads] == [h.in_channels for h in heads]
    if backbone_cfg.init_cfg is not None:
        model.init_weights()
        assert check_backbone_weights(backbone, backbone_cfg.init_cfg.checkpoint) == len(backbone.state_dict())


def test_demo_pretrained_backbone_reaches_the_segmentor_unchanged(tmp_path: Path):
    cfg = Config.fromfile(str(DEMO_BASE))
    good = save_fresh_backbone(cfg, tmp_path / 'good.pth')
    bad = save_fresh_backbone(cfg, tmp_path / 'bad.pth', perturb=True)
    cfg.model.backbone.init_cfg.checkpoint = good
    model = build(cfg.model)
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    model.init_weights()
    assert check_backbone_weights(model.backbone, good) == len(model.backbone.state_dict())
    assert any(not torch.equal(before[k], v) for k, v in model.backbone.state_dict().items())  # it did load
    with pytest.raises(CheckpointError, match='differ'):
        check_backbone_weights(model.backbone, bad)


# --------------------------------------------------------------------------------------------------------------------
# End to end through launch/cli.py

@pytest.fixture(scope='module')
def tiny_ade(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp('world')
    meta = generate(out, seed=0, scenes_train=16, scenes_val=8)
    assert meta['seg_classes'] == list(SEG_CLASSES)
    return str(out / 'ade')


# Two iterations, a validation at the end, no worker processes.
FAST = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.logger.interval=1',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']


def log_text(work_dir: Path) -> str:
    logs = sorted(work_dir.glob('*/*.log'))
    assert logs, f'no log under {work_dir}'
    return logs[-1].read_text()


@pytest.mark.parametrize('row', ['random_init', 'resnet18d_cosine_ls'])
def test_demo_trains_and_tests_through_cli(row: str, tiny_ade: str, tmp_path: Path):
    config = str(SEG / 'demo' / f'{row}.py')
    work_dir = tmp_path / 'work'
    options = list(FAST)
    if row != 'random_init':
        checkpoint = save_fresh_backbone(Config.fromfile(config), tmp_path / 'backbone.pth')
        options.append(f'model.backbone.init_cfg.checkpoint={checkpoint}')

    runner = main('seg', 'train', [config, '--work-dir', str(work_dir), '--data-root', tiny_ade,
                                   '--cfg-options', *options])
    assert runner.iter == 2
    hub = runner.message_hub
    losses = {k: hub.get_scalar(f'train/{k}').current() for k in ('loss', 'decode.loss_ce', 'aux.loss_ce')}
    assert all(math.isfinite(v) and v > 0 for v in losses.values()), losses
    log = log_text(work_dir)
    if row == 'random_init':
        assert 'BackboneWeightsCheckHook: the backbone has no Pretrained init_cfg; nothing to check' in log
    else:
        count = len(runner.model.backbone.state_dict())
        assert f'BackboneWeightsCheckHook: all {count} backbone tensors equal {checkpoint}' in log
    val = {k: hub.get_scalar(f'val/{k}').current() for k in ('aAcc', 'mIoU')}
    assert all(0 <= v <= 100 for v in val.values()), val
    checkpoint_path = work_dir / 'iter_2.pth'
    assert checkpoint_path.is_file()

    test_dir = tmp_path / 'test'
    runner = main('seg', 'test', [config, str(checkpoint_path), '--work-dir', str(test_dir), '--data-root', tiny_ade,
                                  '--cfg-options', *FAST[-2:]])
    metrics = {k: runner.message_hub.get_scalar(f'test/{k}').current() for k in ('aAcc', 'mIoU')}
    assert all(0 <= v <= 100 for v in metrics.values()), metrics
    assert metrics['aAcc'] > 0  # some pixels right: 2 iterations from the checkpoint, not an empty evaluation
    assert re.search(r'aAcc: *[\d.]+ +mIoU: *[\d.]+', log_text(test_dir)), log_text(test_dir)[-2000:]
