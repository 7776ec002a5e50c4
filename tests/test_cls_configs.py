"""Every classification config builds (model, optimiser, schedules) and the trick card its components write says
the recipe its ladder step names; the answer key is the paper's Tables 5 and 6 (which trick each step adds)."""

import pytest
import torch
from cpu_kind import AUTO_DTYPE
from recipes import ROOT, prepared_runner

from cls.trick_card import trick_card

CONFIGS = sorted(p for p in (ROOT / 'configs' / 'cls').rglob('*.py') if '_base_' not in p.parts)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(ROOT / 'configs' / 'cls')))
def test_config_builds_model_optimiser_and_schedules(path, tmp_path):
    runner = prepared_runner(path, tmp_path)
    model = runner.model.eval()  # a shape check: ghost BN's slices and unfitted whitening train on real batches only
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, model.head.out_features)
    assert runner.optim_wrapper.optimizer.defaults['nesterov']
    card = trick_card(runner)
    assert card['epochs'] == runner.max_epochs and card['lr'] > 0


LADDER = {  # ladder step → what its trick card must say (every scale)
    'b_standard': dict(
        variant='b',
        zero_gamma=False,
        no_bias_decay=False,
        schedule=['MultiStepLR'],
        label_smoothing=0.0,
        batch_augments=[],
        distill=False,
    ),
    'b_efficient': dict(variant='b', zero_gamma=True, no_bias_decay=True, schedule=['LinearLR', 'MultiStepLR']),
    'd_efficient': dict(variant='d', zero_gamma=True, no_bias_decay=True, schedule=['LinearLR', 'MultiStepLR']),
    'd_cosine': dict(variant='d', schedule=['LinearLR', 'CosineAnnealingLR'], label_smoothing=0.0),
    'd_cosine_ls': dict(
        variant='d', schedule=['LinearLR', 'CosineAnnealingLR'], label_smoothing=0.1, batch_augments=[], distill=False
    ),
    'd_cosine_ls_mixup': dict(label_smoothing=0.1, batch_augments=['Mixup'], distill=False),
    'd_cosine_ls_distill': dict(label_smoothing=0.1, batch_augments=[], distill=True),
    'd_cosine_ls_distill_mixup': dict(label_smoothing=0.1, batch_augments=['Mixup'], distill=True),
}


def summary(card: dict) -> dict:
    """The card's answers to the questions LADDER asks."""
    return dict(
        variant=card['backbone']['config']['variant'],
        zero_gamma=card['backbone']['zero_gamma'],
        no_bias_decay=card['no_bias_decay'],
        schedule=[s['type'] for s in card['schedule']],
        label_smoothing=card['label_smoothing'],
        distill=card['distill'] is not None,
        batch_augments=[a['type'] for a in card['batch_augments'] if a['type'] != 'RandomCropFlip'],
    )


@pytest.mark.cpu_kind
@pytest.mark.parametrize('scale, depth, warmup_epochs', [('demo', 18, 5), ('imagenet', 50, 5), ('cifar10', 18, 2)])
@pytest.mark.parametrize('step', list(LADDER))
def test_ladder_step_resolves_to_its_recipe(scale, depth, warmup_epochs, step, tmp_path):
    runner = prepared_runner(ROOT / 'configs' / 'cls' / scale / f'resnet{depth}{step}.py', tmp_path)
    card = trick_card(runner)
    got = summary(card)
    for key, value in LADDER[step].items():
        assert got[key] == value, key
    if step == 'b_standard':  # fp32 as in the paper, except on CIFAR-10 where the AMP rule buys the epochs of both runs
        assert card['amp'] == (None if scale != 'cifar10' else AUTO_DTYPE)
    else:
        warmup = card['schedule'][0]
        assert (warmup['begin'], warmup['end'], warmup['unit']) == (0, warmup_epochs * 4, 'iter')
        assert card['amp'] == AUTO_DTYPE  # the AMP rule's dtype on this CPU
    if 'distill' in step:
        assert card['distill']['distill_temperature'] == 20.0 and card['distill']['distill_weights'] == [0.5, 0.5]
        teacher = {'demo': 'resnet18d_teacher', 'cifar10': 'resnet50d_teacher', 'imagenet': 'resnet152d_teacher'}
        assert card['distill']['teacher'] == f'configs/cls/{scale}/{teacher[scale]}.py'


@pytest.mark.parametrize('scale', ['demo', 'cifar10'])
def test_table5_is_four_different_bottleneck_networks(scale, tmp_path):
    variants = {}
    for variant in 'abcd':
        card = trick_card(prepared_runner(ROOT / f'configs/cls/{scale}/resnet26{variant}_efficient.py', tmp_path))
        variants[variant] = card['backbone']['config']
        assert variants[variant]['depth'] == 26 and variants[variant]['variant'] == variant


def test_mixup_trains_longer_and_imagenet_uses_the_papers_lr(tmp_path):
    base = trick_card(prepared_runner(ROOT / 'configs/cls/imagenet/resnet50d_cosine_ls.py', tmp_path))
    mixup = trick_card(prepared_runner(ROOT / 'configs/cls/imagenet/resnet50d_cosine_ls_mixup.py', tmp_path))
    assert (base['epochs'], mixup['epochs']) == (120, 200)
    # One process here: batch 128 → lr 0.4 × 128/1024 (the paper's 0.4 at 1024 = 8 GPUs × 128).
    assert base['batch_size'] == 128 and base['lr'] == pytest.approx(0.4 * 128 / 1024)
    standard = trick_card(prepared_runner(ROOT / 'configs/cls/imagenet/resnet50b_standard.py', tmp_path))
    assert standard['batch_size'] == 32 and standard['lr'] == pytest.approx(0.1 * 32 / 256)


@pytest.mark.cpu_kind
def test_nfnet_f0_recipe_is_the_papers_batch_of_4096_on_8_gpus(tmp_path):
    card = trick_card(prepared_runner(ROOT / 'configs/cls/imagenet/nfnet_f0_agc.py', tmp_path))
    assert card['backbone']['config']['arch'] == 'dm_nfnet_f0' and card['backbone']['drop_path_rate'] == 0.25
    assert card['clip'] == dict(type='agc', clipping=0.01, eps=1e-3) and card['epochs'] == 360
    assert card['batch_size'] * 8 == 4096 and card['accumulative_counts'] == 4  # 128 × 4 here, × 8 GPUs
    assert card['lr'] == pytest.approx(0.1 * 4096 / 256) and card['label_smoothing'] == 0.1
    assert card['dropout'] == 0.2 and card['ema']['momentum'] == 1e-4 and card['amp'] == 'bfloat16'


def test_nfnet_gains_and_biases_get_no_weight_decay_but_weights_do(tmp_path):
    runner = prepared_runner(ROOT / 'configs/cls/imagenet/nfnet_f0_agc.py', tmp_path)
    names = {p: n for n, p in runner.model.named_parameters()}
    decay = {
        names[p]: group['weight_decay']
        for group in runner.optim_wrapper.optimizer.param_groups
        for p in group['params']
    }
    exempt = {n for n in decay if n.endswith(('.gain', 'skipinit_gain', '.bias'))}  # DeepMind's exclusions
    assert any(n.endswith('skipinit_gain') for n in exempt) and any(n.endswith('.gain') for n in exempt)
    assert all(decay[n] == 0 for n in exempt)
    assert all(decay[n] == 2e-5 for n in decay if n not in exempt)
