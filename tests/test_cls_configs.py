"""Every classification config builds (model, optimiser, schedules) and resolves to the recipe its ladder step names."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import cls  # noqa: F401  (registration)
from backbones.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from cls.trick_card import trick_card

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (ROOT / 'configs' / 'cls').rglob('*.py') if '_base_' not in p.parts)


def load(path: Path) -> Config:
    return Config.fromfile(str(path))


def build_student(cfg: Config):
    """The model without its teacher (whose checkpoint only exists after the teacher's run)."""
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pop('teacher', None)
    with DefaultScope.overwrite_default_scope('tricks'):
        return MODELS.build(model_cfg)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(ROOT / 'configs' / 'cls')))
def test_config_builds_model_optimiser_and_schedules(path):
    cfg = load(path)
    model = build_student(cfg)
    logits = model(torch.zeros(2, 3, 64, 64))
    assert logits.shape == (2, cfg.model.num_classes)
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    constructor = optim_cfg.pop('constructor', 'DefaultOptimWrapperConstructor')
    paramwise = optim_cfg.pop('paramwise_cfg', None)
    with DefaultScope.overwrite_default_scope('tricks'):
        wrapper = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(type=constructor, optim_wrapper_cfg=optim_cfg,
                                                        paramwise_cfg=paramwise))(model)
    assert wrapper.optimizer.defaults['nesterov']
    if 'teacher' in cfg.model:  # the teacher's config exists and builds the same way
        teacher_cfg = load(ROOT / cfg.model.teacher.config)
        assert build_student(teacher_cfg)(torch.zeros(1, 3, 64, 64)).shape == (1, cfg.model.num_classes)
    card = trick_card(cfg)
    assert card['epochs'] == cfg.train_cfg.max_epochs and card['lr'] > 0


LADDER = {  # ladder step → what its trick card must say (both scales)
    'b_standard': dict(variant='b', zero_gamma=False, no_bias_decay=False, warmup=None, decay='MultiStepLR',
                       label_smoothing=0.0, mixup_alpha=None, distill=None),
    'b_efficient': dict(variant='b', zero_gamma=True, no_bias_decay=True, decay='MultiStepLR'),
    'd_efficient': dict(variant='d', zero_gamma=True, no_bias_decay=True, decay='MultiStepLR'),
    'd_cosine': dict(variant='d', decay='CosineAnnealingLR', label_smoothing=0.0),
    'd_cosine_ls': dict(variant='d', decay='CosineAnnealingLR', label_smoothing=0.1, mixup_alpha=None,
                        distill=None),
    'd_cosine_ls_mixup': dict(label_smoothing=0.1, mixup_alpha=0.2, distill=None),
    'd_cosine_ls_distill': dict(label_smoothing=0.1, mixup_alpha=None),
    'd_cosine_ls_distill_mixup': dict(label_smoothing=0.1, mixup_alpha=0.2),
}


@pytest.mark.parametrize('scale, depth, warmup_epochs', [('demo', 18, 5), ('imagenet', 50, 5), ('cifar10', 18, 2)])
@pytest.mark.parametrize('step', list(LADDER))
def test_ladder_step_resolves_to_its_recipe(scale, depth, warmup_epochs, step):
    cfg = load(ROOT / 'configs' / 'cls' / scale / f'resnet{depth}{step}.py')
    card = trick_card(cfg)
    for key, value in LADDER[step].items():
        assert card[key] == value, key
    if step == 'b_standard':  # fp32 as in the paper, except on CIFAR-10 where bf16 buys the epochs of both runs
        assert card['amp'] == (None if scale != 'cifar10' else 'auto')
    else:
        assert card['warmup'] == dict(length=warmup_epochs, by_epoch=True) and card['amp'] is not None
    if 'distill' in step:
        assert card['distill']['temperature'] == 20.0
        assert 'teacher' in card['distill']['teacher']


def test_mixup_trains_longer_and_imagenet_uses_the_papers_batch_and_lr():
    base = trick_card(load(ROOT / 'configs/cls/imagenet/resnet50d_cosine_ls.py'), world_size=8)
    mixup = trick_card(load(ROOT / 'configs/cls/imagenet/resnet50d_cosine_ls_mixup.py'), world_size=8)
    assert (base['epochs'], mixup['epochs']) == (120, 200)
    assert base['batch_size'] == 1024 and base['lr'] == pytest.approx(0.4) and base['amp'] == 'float16'
    standard = trick_card(load(ROOT / 'configs/cls/imagenet/resnet50b_standard.py'), world_size=8)
    assert standard['batch_size'] == 256 and standard['lr'] == pytest.approx(0.1)


def test_nfnet_f0_recipe():
    card = trick_card(load(ROOT / 'configs/cls/imagenet/nfnet_f0_agc.py'), world_size=32)
    assert card['arch'] == 'dm_nfnet_f0' and card['agc'] == 0.01 and card['epochs'] == 360
    assert card['batch_size'] == 4096 and card['lr'] == pytest.approx(1.6) and card['label_smoothing'] == 0.1
