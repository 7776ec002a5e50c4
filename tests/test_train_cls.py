"""tools/train_cls.py and tools/test_cls.py end to end on the embedded world: a short run learns, its checkpoint carries
the trick card and is plain data, and the test tool reproduces the validation accuracy."""

from pathlib import Path

import pytest
import torch
from cpu_kind import AUTO_DTYPE, expected_capability, expected_native

from datagen.demo_world import THING_CLASSES, generate
from engine.cli import load_config, main, parse_args
from engine.tasks import TASKS

pytestmark = pytest.mark.cpu_kind  # kernels, tolerances or precision: run on both CPU kinds (test_cpu_kinds.py)

ROOT = Path(__file__).resolve().parents[1]

CONFIG = str(ROOT / 'configs/cls/demo/resnet18d_cosine_ls.py')
EPOCHS = 8


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A small embedded world and 8 epochs of the D + efficient + cosine + LS recipe on it (about 20 s)."""
    root = tmp_path_factory.mktemp('demo')
    generate(root, seed=0, scenes_train=600, scenes_val=200, image_size=96)
    work_dir = root / 'work'
    runner = main(
        'cls',
        'train',
        [
            CONFIG,
            '--work-dir',
            str(work_dir),
            '--data-root',
            str(root / 'cls'),
            '--cfg-options',
            f'train_cfg.max_epochs={EPOCHS}',
        ],
    )
    return root, work_dir, runner


def test_short_training_rises_well_above_chance(trained):
    _, _, runner = trained
    chance = 100 / len(THING_CLASSES)
    assert runner.message_hub.get_info('best_score') > 3 * chance


def test_checkpoint_is_plain_data_with_the_trick_card(trained):
    _, work_dir, _ = trained
    checkpoint = torch.load(work_dir / f'epoch_{EPOCHS}.pth', weights_only=True)
    card = checkpoint['meta']['trick_card']
    assert card['backbone']['config'] == dict(
        type='tricks.ResNet', depth=18, variant='d', in_channels=3, base_channels=16, stem_channels=16
    )
    assert card['label_smoothing'] == 0.1 and [s['type'] for s in card['schedule']] == ['LinearLR', 'CosineAnnealingLR']
    assert card['backbone']['zero_gamma'] and card['no_bias_decay'] and card['epochs'] == EPOCHS
    assert card['amp'] == AUTO_DTYPE  # the AMP rule's dtype on this CPU, as the run really used it
    assert card['machine']['device'] == 'cpu' and card['machine']['cpu_capability'] == expected_capability()
    assert card['machine']['cpu_native_bf16'] == expected_native('bfloat16')
    assert card['lr'] == pytest.approx(0.05)  # the demo's lr at its base batch of 64: linear scaling keeps it


def test_test_tool_reproduces_the_last_validation(trained):
    root, work_dir, runner = trained
    last_val = runner.message_hub.get_scalar('val/top1').current()
    tested = main(
        'cls',
        'test',
        [
            CONFIG,
            str(work_dir / f'epoch_{EPOCHS}.pth'),
            '--work-dir',
            str(work_dir / 'test'),
            '--data-root',
            str(root / 'cls'),
        ],
    )
    assert tested.message_hub.get_scalar('test/top1').current() == pytest.approx(last_val, abs=1e-6)


@pytest.mark.parametrize('flag, dtype', [('fp16', 'float16'), ('bf16', 'bfloat16'), ('auto', None)])
def test_amp_flag_switches_the_optim_wrapper(flag, dtype):
    cfg = load_config_for(['configs/cls/demo/resnet18b_standard.py', '--amp', flag])
    assert cfg.optim_wrapper.type == 'tricks.AmpOptimWrapper' and cfg.optim_wrapper.dtype == dtype


def test_evaluation_under_autocast_follows_the_amp_rule():
    cfg = load_config_for(['configs/cls/resnet9/page_shortest_path.py'])  # val_cfg = test_cfg = dict(fp16=True)
    assert cfg.val_cfg.fp16 == cfg.test_cfg.fp16 == (AUTO_DTYPE == 'bfloat16')  # no emulated bf16 where fp32 trains


def test_cli_defaults_and_resume():
    cfg = load_config_for(['configs/cls/demo/resnet18b_standard.py', '--resume'])
    assert cfg.work_dir == 'work_dirs/cls/demo/resnet18b_standard' and cfg.resume and cfg.load_from is None
    assert {'type': 'tricks.PlainCheckpointHook'} in cfg.custom_hooks


def test_a_default_hook_set_to_none_is_switched_off_ours_as_mmengines(tmp_path):
    from mmengine.hooks import EMAHook, IterTimerHook
    from mmengine.runner import Runner

    from engine.hooks import TimeToAccuracyHook

    def hooks(*options):
        config = ['configs/cls/demo/resnet18b_standard.py', '--work-dir', str(tmp_path), '--cfg-options', *options]
        return {type(h) for h in Runner.from_cfg(load_config_for(config)).hooks}

    on = hooks('default_hooks.ema.type=EMAHook', 'default_hooks.ema.momentum=0.05')
    assert {EMAHook, TimeToAccuracyHook, IterTimerHook} <= on
    off = hooks('default_hooks.time_to_accuracy=None', 'default_hooks.timer=None')
    assert TimeToAccuracyHook not in off and IterTimerHook not in off and EMAHook not in off
    assert on - off == {EMAHook, TimeToAccuracyHook, IterTimerHook}


def test_data_root_reaches_every_dataset():
    cfg = load_config_for(['configs/cls/demo/resnet18b_standard.py', '--data-root', '/elsewhere'])
    assert {cfg[k].dataset.data_root for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')} == {
        '/elsewhere'
    }


def load_config_for(argv):
    return load_config(TASKS['cls'], parse_args('train', [str(ROOT / argv[0]), *argv[1:]]))


def test_exported_backbone_loads_through_pretrained_init_cfg(trained, tmp_path):
    from backbones import build_backbone
    from backbones.checkpoint import export_backbone, load_checkpoint

    _, work_dir, runner = trained
    export_backbone(str(work_dir / f'epoch_{EPOCHS}.pth'), str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'README.md',
        'backbone.pth',
        'backbone.safetensors',
        'config.json',
    ]  # no temp files
    meta = load_checkpoint(str(tmp_path / 'backbone.pth'))['meta']
    assert meta['backbone'] == meta['trick_card']['backbone']['config'] == runner.model.backbone.arch_config()
    trained_backbone = runner.model.backbone.state_dict()
    for suffix in ('pth', 'safetensors'):
        backbone = build_backbone(
            'resnet18d',
            base_channels=16,
            init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / f'backbone.{suffix}')),
        )
        backbone.init_weights()
        for key, value in backbone.state_dict().items():
            torch.testing.assert_close(value, trained_backbone[key], msg=key)
