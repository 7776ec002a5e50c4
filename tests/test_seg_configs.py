"""The segmentation configs (configs/seg): every ladder row builds our backbone through mmseg, its pretrained weights
arrive unchanged, and the demo trains and tests end to end through engine/cli.py on a tiny generated ADE-format set."""

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
from datagen.demo_world import SEG_CLASSES, generate
from engine.cli import main
from engine.hooks import check_backbone_weights

SEG = ROOT / 'configs' / 'seg'
CONFIGS = sorted(p for p in SEG.rglob('*.py') if '_base_' not in p.parts)
DEMO_BASE = SEG / '_base_' / 'demo.py'
DEMO_CLS = ROOT / 'configs/cls/demo/resnet18d_cosine_ls.py'

pytestmark = [
    pytest.mark.usefixtures('one_thread'),
    pytest.mark.filterwarnings(
        'ignore:``build_loss`` would be deprecated:UserWarning',
        'ignore:Default ``avg_non_ignore`` is False:UserWarning',
    ),
]


def build(cfg_model):
    return build_in_toolkit('mmseg', cfg_model)


def conv3x3(block) -> torch.nn.Conv2d:
    """The block's first 3x3 conv: the one that carries its stride and dilation (conv1 of a BasicBlock, conv2 of a
    Bottleneck)."""
    return next(m for m in block.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3))


def test_every_seg_config_is_covered():
    names = {str(p.relative_to(SEG)) for p in CONFIGS}
    assert names == {
        'demo/random_init.py',
        'demo/resnet9_random_init.py',
        'demo/resnet18b_standard.py',
        'demo/resnet18d_cosine_ls.py',
        'demo/resnet18d_cosine_ls_distill_mixup.py',
        'ade20k/nfnet_f0.py',
        'ade20k/resnet50b_standard.py',
        'ade20k/resnet50d_efficient.py',
        'ade20k/resnet50d_cosine.py',
        'ade20k/resnet50d_cosine_ls.py',
        'ade20k/resnet50d_cosine_ls_distill.py',
        'ade20k/resnet50d_cosine_ls_mixup.py',
        'ade20k/resnet50d_cosine_ls_distill_mixup.py',
    }


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(SEG)))
def test_config_builds_our_backbone_through_mmseg(path: Path, tmp_path: Path):
    cfg = Config.fromfile(str(path))
    ladder, name = path.parent.name, path.stem
    backbone_cfg = cfg.model.backbone
    assert cfg.model.type == 'EncoderDecoder' and cfg.model.pretrained is None
    assert {'type': 'tricks.BackboneWeightsCheckHook'} in cfg.custom_hooks
    assert {'type': 'tricks.PlainCheckpointHook'} in cfg.custom_hooks

    # The row names its backbone once: the file that the matching, existing cls config exports.
    if name.endswith('random_init'):  # the controls, named by hand
        assert backbone_cfg.type in ('tricks.ResNet', 'tricks.ResNet9') and backbone_cfg.get('init_cfg') is None
    else:
        recipe = (
            ROOT
            / 'configs'
            / 'cls'
            / {'demo': 'demo', 'ade20k': 'imagenet'}[ladder]
            / f'{ {"nfnet_f0": "nfnet_f0_agc"}.get(name, name) }.py'
        )
        assert backbone_cfg.type == 'tricks.ExportedBackbone'
        assert backbone_cfg.checkpoint == f'work_dirs/cls/{recipe.parent.name}/{recipe.stem}/backbone.pth'
        assert not {'depth', 'variant', 'arch', 'base_channels', 'init_cfg'} & set(backbone_cfg)
        backbone_cfg.checkpoint = str(fake_export(recipe, tmp_path / 'backbone.pth'))

    # Every dataset under the one data_root variable.
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.data_root == cfg.data_root
    if ladder == 'demo':
        assert cfg.data_root == 'data/demo/ade/'
        assert tuple(cfg.classes) == SEG_CLASSES and cfg.model.decode_head.num_classes == len(SEG_CLASSES)
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            dataset = cfg[key].dataset
            assert dataset.type == 'tricks.ADEFormatDataset'  # reduce_zero_label by default
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
    elif name.startswith('resnet9'):
        assert isinstance(backbone, backbones.ResNet9) and backbone.out_strides[-1] == 8  # FCN's output stride
    else:
        assert isinstance(backbone, backbones.ResNet)
        assert backbone.variant == ('b' if 'resnet50b' in name or 'resnet18b' in name else 'd')  # from the export
        first = [conv3x3(getattr(backbone, f'layer{i}')[0]) for i in (1, 2, 3, 4)]
        assert [c.stride[0] for c in first] == [1, 2, 1, 1]  # dilated D8, as in the stock base
        assert [c.dilation[0] for c in first] == [1, 1, 1, 2]  # contract_dilation: first block at half
        assert conv3x3(backbone.layer4[-1]).dilation[0] == 4
    heads = (model.decode_head, model.auxiliary_head)
    assert [backbone.out_channels[h.in_index] for h in heads] == [h.in_channels for h in heads]
    if not name.endswith('random_init'):
        model.init_weights()
        assert check_backbone_weights(backbone, backbone_cfg.checkpoint) == len(backbone.state_dict())


def test_demo_pretrained_backbone_reaches_the_segmentor_unchanged(tmp_path: Path):
    cfg = Config.fromfile(str(DEMO_BASE))
    good = str(fake_export(DEMO_CLS, tmp_path / 'good.pth', seed=1))
    bad = str(fake_export(DEMO_CLS, tmp_path / 'bad.pth', seed=2))  # the same architecture, other weights
    cfg.model.backbone.checkpoint = good
    model = build(cfg.model)
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    model.init_weights()
    assert check_backbone_weights(model.backbone, good) == len(model.backbone.state_dict())
    assert any(not torch.equal(before[k], v) for k, v in model.backbone.state_dict().items())  # it did load
    with pytest.raises(CheckpointError, match='differ'):
        check_backbone_weights(model.backbone, bad)


# --------------------------------------------------------------------------------------------------------------------
# End to end through engine/cli.py


@pytest.fixture(scope='module')
def tiny_ade(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp('world')
    meta = generate(out, seed=0, scenes_train=16, scenes_val=8)
    assert meta['seg_classes'] == list(SEG_CLASSES)
    return str(out / 'ade')


# Two iterations, a validation at the end, no worker processes.
FAST = [
    'train_cfg.max_iters=2',
    'train_cfg.val_interval=2',
    'default_hooks.logger.interval=1',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
]


def log_text(work_dir: Path) -> str:
    logs = sorted(work_dir.glob('*/*.log'))
    assert logs, f'no log under {work_dir}'
    return logs[-1].read_text()


def test_an_export_of_another_width_feeds_the_heads_their_own_channels(tiny_ade: str, tmp_path: Path, capfd):
    """The FCN head reads stage 4 (in_index 3), the auxiliary head stage 3: of a quarter-width ResNet-26-D, 512 and
    256 channels, where the demo rows state a ResNet-18's 128 and 64."""
    MMLogger.get_instance(f'exported-channels-{tmp_path.name}')  # the current logger prints to this test's stdout
    saved = fake_export(ROOT / 'configs/cls/demo/resnet26d_efficient.py', tmp_path / 'backbone.pth', seed=4)
    options = [*FAST, f'model.backbone.checkpoint={saved}']
    config = str(SEG / 'demo' / 'resnet18d_cosine_ls.py')
    runner = main(
        'seg', 'train', [config, '--work-dir', str(tmp_path), '--data-root', tiny_ade, '--cfg-options', *options]
    )
    assert (runner.iter, runner.model.decode_head.in_channels, runner.model.auxiliary_head.in_channels) == (2, 512, 256)
    printed = capfd.readouterr()
    for line in (f'model.decode_head.in_channels 128 → 512, the channels of {saved}',
                 f'model.auxiliary_head.in_channels 64 → 256, the channels of {saved}'):  # fmt: skip
        assert line in printed.out + printed.err


@pytest.mark.parametrize('row', ['random_init', 'resnet18d_cosine_ls'])
def test_demo_trains_and_tests_through_cli(row: str, tiny_ade: str, tmp_path: Path):
    config = str(SEG / 'demo' / f'{row}.py')
    work_dir = tmp_path / 'work'
    options = list(FAST)
    if row != 'random_init':
        checkpoint = fake_export(DEMO_CLS, tmp_path / 'backbone.pth')
        options.append(f'model.backbone.checkpoint={checkpoint}')

    runner = main(
        'seg', 'train', [config, '--work-dir', str(work_dir), '--data-root', tiny_ade, '--cfg-options', *options]
    )
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
    val = {k: hub.get_scalar(f'val/{k}').current() for k in ('aAcc', 'mIoU')}  # at iteration 2, the saved model
    checkpoint_path = work_dir / 'iter_2.pth'
    assert checkpoint_path.is_file()

    test_dir = tmp_path / 'test'
    runner = main(
        'seg',
        'test',
        [
            config,
            str(checkpoint_path),
            '--work-dir',
            str(test_dir),
            '--data-root',
            tiny_ade,
            '--cfg-options',
            *FAST[-2:],
            *options[len(FAST) :],
        ],
    )
    saved_state = torch.load(checkpoint_path, weights_only=True)['state_dict']
    assert all(torch.equal(v, saved_state[k]) for k, v in runner.model.state_dict().items())  # the trained weights
    metrics = {k: runner.message_hub.get_scalar(f'test/{k}').current() for k in ('aAcc', 'mIoU')}
    assert metrics == pytest.approx(val, abs=1e-6)  # the same model on the same 8 images: the same numbers
    assert metrics['aAcc'] > 0  # some pixels right: 2 iterations from the checkpoint, not an empty evaluation
    assert re.search(r'aAcc: *[\d.]+ +mIoU: *[\d.]+', log_text(test_dir)), log_text(test_dir)[-2000:]
