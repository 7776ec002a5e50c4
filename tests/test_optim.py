"""Optimiser tricks: AGC as timm computes it, on unscaled gradients; fp16/bf16 steps that match fp32 on a CPU; no
bias decay; and the lr schedules and linear scaling rule of the paper, checked against their closed forms."""

import logging
import math
import re
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from cpu_kind import AUTO_DTYPE, expected_capability, expected_native
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.runner import Runner
from recipes import ROOT, lr_of_every_iteration, prepared_runner
from timm.utils.agc import adaptive_clip_grad

from backbones import ResNet
from backbones.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS
from cls.optim import AGC_CLIPPED_FRACTION, OptimWrapper, cpu_precision, precision_of, resolve_amp_dtype

CLIPPING, EPS = 0.01, 1e-3
AGC = dict(type='agc', clipping=CLIPPING, eps=EPS)
SGD_DECAY = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)


# AGC ------------------------------------------------------------------------------------------------------------------


def last_agc_clipped_fraction() -> float:
    return MessageHub.get_current_instance().get_scalar(AGC_CLIPPED_FRACTION).current()


def param_with_grad_ratios(shape: tuple, ratios: list[float], zero_unit: int | None = None) -> nn.Parameter:
    """A parameter whose units have ‖G_i‖ = ratio_i · λ·max(‖W_i‖, ε): ratio > 1 must be clipped, < 1 must not.
    Units are output rows (dim 0) for ≥ 2-D tensors, the whole tensor for 1-D ones; `zero_unit` has W_i = 0, so that
    ε sets its threshold."""
    gen = torch.Generator().manual_seed(math.prod(shape))
    weight, grad = torch.randn(shape, generator=gen), torch.randn(shape, generator=gen)
    if zero_unit is not None:
        weight[zero_unit] = 0
    units = (lambda t: t.reshape(1, -1)) if weight.ndim == 1 else (lambda t: t.flatten(1))
    threshold = CLIPPING * units(weight).norm(dim=1).clamp(min=EPS)
    scale = torch.tensor(ratios) * threshold / units(grad).norm(dim=1)
    param = nn.Parameter(weight)
    param.grad = (units(grad) * scale[:, None]).reshape(shape)
    return param


@pytest.mark.cpu_kind
def test_agc_equals_timm_and_leaves_groups_marked_agc_false_alone():
    body = [
        param_with_grad_ratios((4, 3, 3, 3), [3.0, 0.5, 10.0, 0.9], zero_unit=0),  # conv: 2 of 4 filters clipped
        param_with_grad_ratios((5, 6), [1.5, 0.2, 4.0, 0.99, 1.01]),  # linear: 3 of 5 rows clipped
        param_with_grad_ratios((4,), [2.0]),  # a bias is one unit: clipped
        param_with_grad_ratios((6,), [0.3]),
    ]  # not clipped
    head = [param_with_grad_ratios((3, 6), [100.0] * 3), param_with_grad_ratios((3,), [100.0])]
    reference = [nn.Parameter(p.detach().clone()) for p in body]
    for ref, p in zip(reference, body):
        ref.grad = p.grad.clone()
    adaptive_clip_grad(reference, clip_factor=CLIPPING, eps=EPS)
    head_grads = [p.grad.clone() for p in head]

    optimizer = torch.optim.SGD([dict(params=body), dict(params=head, agc=False)], lr=0.0)
    OPTIM_WRAPPERS.build(dict(type='tricks.OptimWrapper', optimizer=optimizer, clip_grad=dict(AGC))).step()

    for p, ref in zip(body, reference):
        torch.testing.assert_close(p.grad, ref.grad, rtol=0, atol=0)
    for p, grad in zip(head, head_grads):
        assert torch.equal(p.grad, grad)
    assert last_agc_clipped_fraction() == pytest.approx(6 / 11)


# AMP ------------------------------------------------------------------------------------------------------------------


def sgd_step(wrapper_type: str, **wrapper_cfg) -> tuple[list[torch.Tensor], OptimWrapper]:
    """One SGD update of the same small conv net on the same batch: (parameter deltas, wrapper)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.Conv2d(32, 32, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    )
    images, labels = torch.randn(16, 3, 16, 16), torch.randint(10, (16,))
    before = [p.detach().clone() for p in net.parameters()]
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    wrapper = OPTIM_WRAPPERS.build(dict(type=wrapper_type, optimizer=optimizer, **wrapper_cfg))
    with wrapper.optim_context(net):
        loss = F.cross_entropy(net(images), labels)
    wrapper.update_params(loss)
    return [p.detach() - b for p, b in zip(net.parameters(), before)], wrapper


def worst_relative_error(deltas: list[torch.Tensor], reference: list[torch.Tensor]) -> float:
    """max over parameters of ‖Δ − Δ_ref‖ / ‖Δ_ref‖. Reduced precision costs a few % on the conv weights here: BN's
    backward subtracts the batch means of nearly uniform gradients, which amplifies rounding."""
    return max(float((d - r).norm() / r.norm()) for d, r in zip(deltas, reference))


FP16_TOLERANCE, BF16_TOLERANCE = 0.03, 0.1  # fp16 keeps 3 more mantissa bits than bf16


@pytest.mark.cpu_kind
@pytest.mark.parametrize('dtype, tolerance', [('float16', FP16_TOLERANCE), ('bfloat16', BF16_TOLERANCE)])
def test_mixed_precision_step_matches_fp32(dtype, tolerance):
    fp32, _ = sgd_step('tricks.OptimWrapper')
    mixed, wrapper = sgd_step('tricks.AmpOptimWrapper', dtype=dtype)
    assert 1e-4 < worst_relative_error(mixed, fp32) < tolerance  # > 0: autocast did run in reduced precision
    if dtype == 'float16':
        assert wrapper.loss_scaler.is_enabled() and wrapper.loss_scaler.get_scale() > 1
    else:
        assert not wrapper.loss_scaler.is_enabled() and wrapper.state_dict()['loss_scaler'] == {}


@pytest.mark.cpu_kind
def test_the_amp_rule_trains_in_bf16_exactly_where_the_cpu_has_native_bf16():
    """The oracle is /proc/cpuinfo and the emulation variables (tests/cpu_kind.py), not torch."""
    assert str(resolve_amp_dtype(None, 'cpu')) == f'torch.{AUTO_DTYPE}'
    assert resolve_amp_dtype(None, 'cuda') == torch.float16  # the paper's fp16 with loss scaling
    assert precision_of(dict(type='tricks.AmpOptimWrapper', dtype=None), 'cpu') == AUTO_DTYPE
    assert precision_of(dict(type='AmpOptimWrapper'), 'cuda') == 'float16'  # mmengine's wrapper: the same rule
    assert precision_of(dict(type='tricks.AmpOptimWrapper', dtype='bfloat16'), 'cpu') == 'bfloat16'  # as named
    assert precision_of(dict(type='tricks.OptimWrapper'), 'cpu') == 'float32'
    assert cpu_precision()['capability'] == expected_capability()


@pytest.mark.cpu_kind
def test_the_auto_precision_step_is_the_bf16_step_or_the_fp32_step_bit_for_bit():
    auto, wrapper = sgd_step('tricks.AmpOptimWrapper')
    if AUTO_DTYPE == 'bfloat16':
        reference, _ = sgd_step('tricks.AmpOptimWrapper', dtype='bfloat16')
    else:
        reference, _ = sgd_step('tricks.OptimWrapper')
    assert str(wrapper.cast_dtype) == f'torch.{AUTO_DTYPE}' and not wrapper.loss_scaler.is_enabled()
    assert all(torch.equal(a, r) for a, r in zip(auto, reference))  # fp32: autocast off, not a no-op autocast


@pytest.mark.cpu_kind
@pytest.mark.parametrize('dtype', ['bfloat16', 'float16'])
def test_a_named_precision_the_cpu_only_emulates_trains_after_one_warning_line(dtype):
    logger = MMLogger.get_current_instance()
    lines = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: lines.append(record.getMessage())
    logger.addHandler(handler)
    try:
        mixed, wrapper = sgd_step('tricks.AmpOptimWrapper', dtype=dtype)
    finally:
        logger.removeHandler(handler)
    assert str(wrapper.cast_dtype) == f'torch.{dtype}'  # it still trains in what was asked
    warnings = [line for line in lines if 'not native on this CPU' in line]
    if expected_native(dtype):
        assert warnings == []
    else:
        (line,) = warnings
        assert '\n' not in line and line.startswith(f'{dtype} is not native on this CPU (capability ')
        assert re.search(r'took \d+\.\d+x the time of fp32 here', line) and line.endswith(f'trains in {AUTO_DTYPE}')


@pytest.mark.cpu_kind
def test_fp16_loss_scaler_state_round_trips_through_state_dict():
    _, trained = sgd_step(
        'tricks.AmpOptimWrapper', dtype='float16', loss_scale=dict(init_scale=2.0**10, growth_interval=1)
    )
    assert trained.loss_scaler.get_scale() == 2.0**11  # one finite step, so dynamic scaling doubled it
    _, fresh = sgd_step('tricks.AmpOptimWrapper', dtype='float16')
    assert fresh.loss_scaler.state_dict() != trained.loss_scaler.state_dict()
    fresh.load_state_dict(trained.state_dict())
    assert fresh.loss_scaler.state_dict() == trained.loss_scaler.state_dict()


@pytest.mark.cpu_kind
def test_agc_under_fp16_clips_the_unscaled_gradients_like_fp32():
    agc = dict(AGC, clipping=0.1)  # λ at which some of this net's units are clipped and some not
    unclipped, _ = sgd_step('tricks.OptimWrapper')
    fp32, _ = sgd_step('tricks.OptimWrapper', clip_grad=dict(agc))
    fp32_clipped = last_agc_clipped_fraction()
    fp16, wrapper = sgd_step('tricks.AmpOptimWrapper', dtype='float16', clip_grad=dict(agc))
    assert wrapper.loss_scaler.get_scale() > 1
    assert 0 < fp32_clipped < 1 and last_agc_clipped_fraction() == fp32_clipped  # the same units, so unscaled
    assert worst_relative_error(fp32, unclipped) > 0.1  # AGC did change the update
    assert worst_relative_error(fp16, fp32) < FP16_TOLERANCE


# No bias decay --------------------------------------------------------------------------------------------------------


def test_no_bias_decay_on_resnet18_and_head_flagged_agc_false():
    model = nn.Sequential(OrderedDict(backbone=ResNet(depth=18, base_channels=8), head=nn.Linear(64, 10)))
    paramwise_cfg = dict(norm_decay_mult=0.0, bias_decay_mult=0.0, custom_keys={'head': dict(agc=False)})
    wrapper = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='tricks.ParamwiseOptimWrapperConstructor',
            optim_wrapper_cfg=dict(optimizer=SGD_DECAY),
            paramwise_cfg=paramwise_cfg,
        )
    )(model)

    names = {param: name for name, param in model.named_parameters()}
    groups = {names[group['params'][0]]: group for group in wrapper.optimizer.param_groups}
    assert groups.keys() == {name for name, _ in model.named_parameters()}
    weights = {f'{name}.weight' for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    assert len(weights) == 21  # 20 convs of ResNet-18 (3 downsampling shortcuts) + the head
    assert {name for name, group in groups.items() if group['weight_decay'] == 1e-4} == weights
    assert all(group['weight_decay'] == 0 for name, group in groups.items() if name not in weights)
    assert {name for name, group in groups.items() if group.get('agc', True) is False} == {'head.weight', 'head.bias'}
    assert type(wrapper) is OptimWrapper

    # The reason for our constructor: mmengine's lets a custom key override the other rules.
    mmengine_wrapper = DefaultOptimWrapperConstructor(dict(optimizer=SGD_DECAY), paramwise_cfg)(model)
    head_bias = next(g for g in mmengine_wrapper.optimizer.param_groups if g['params'][0] is model.head.bias)
    assert head_bias['weight_decay'] == 1e-4


# LR schedules ---------------------------------------------------------------------------------------------------------
# Every recipe that runs, through the Runner that runs it, against the closed forms. The answer key is the paper and
# the README, not the configs: each scale's length, warmup and lr per 256 images, the ¼-½-¾ step rule (§2), the
# 5-epoch linear warmup from ~0 (§3), the cosine to 0 after it (§5.1).

ITERS_PER_EPOCH = 4
SCALES = {  # scale: (epochs, mixup epochs, warmup epochs, lr per 256 images)
    'imagenet': (120, 200, 5, 0.1),
    'demo': (30, 50, 5, 0.2),
    'cifar10': (14, 24, 2, 0.1),
}
RECIPES = sorted(p for p in (ROOT / 'configs/cls').rglob('*.py') if '_base_' not in p.parts)


def expected_schedule(path: Path) -> tuple[str, int, int, float]:
    """(kind, epochs, warmup epochs, peak lr at the config's batch) that the answer key gives a recipe."""
    scale, name = path.parent.name, path.stem
    if name == 'record_cpu':  # cifar10-fast's final notebook: 0 → 1.0 at a fifth of the run → 0.1 two epochs
        return 'notebook', 25, 5, 1.0  # before the end, then held (the README's CPU-sized record run: 25 epochs)
    if scale == 'resnet9':  # the page: 0 → 0.4 → 0, knots at epochs 0, 4, 20 (record: 0, 5, 24; Extra: 0, 12, 60)
        lengths = {'record': (24, 5), 'page_extra_l1_l2_l3': (60, 12)}
        epochs, peak_epoch = lengths.get(name, (20, 4))
        return 'piecewise', epochs, peak_epoch, 0.4
    if name == 'nfnet_f0_agc':  # the NFNet paper: 360 epochs, 5 warmup, lr 0.1 × 4096/256 set by hand
        return 'warmup_cosine', 360, 5, 1.6
    epochs, mixup_epochs, warmup, lr_per_256 = SCALES[scale]
    if name == 'resnet18d_teacher':  # the demo's teacher: its student's recipe, 2.5× as long (README)
        epochs = int(epochs * 2.5)
    kind = 'step' if name.endswith('_standard') else 'warmup_step' if name.endswith('_efficient') else 'warmup_cosine'
    batch = Config.fromfile(str(path)).train_dataloader.batch_size
    return kind, mixup_epochs if 'mixup' in name else epochs, warmup, lr_per_256 * batch / 256


def closed_form(kind: str, epochs: int, warmup_epochs: int, peak: float, i: int) -> float:
    m, total = warmup_epochs * ITERS_PER_EPOCH, epochs * ITERS_PER_EPOCH
    if kind == 'piecewise':  # linear from 0 at iteration 0 to the peak at m, back to 0 at the end
        return peak * (i / m if i <= m else (total - i) / (total - m))
    if kind == 'notebook':  # as 'piecewise', but down to 0.1 of the peak two epochs before the end, then held
        low = total - 2 * ITERS_PER_EPOCH
        return peak * (i / m if i <= m else 1 - 0.9 * (i - m) / (low - m) if i <= low else 0.1)
    if kind != 'step' and i < m:  # mmengine's LinearLR: peak·(s + (1 − s)·i/(m − 1)), s = 1e-3
        return peak * (1e-3 + (1 - 1e-3) * i / (m - 1))
    if kind.endswith('step'):  # ÷10 at every milestone epoch passed, milestones at ¼, ½, ¾ rounded half up
        milestones = [math.floor(epochs * f + 0.5) for f in (0.25, 0.5, 0.75)]
        return peak * 0.1 ** sum(i // ITERS_PER_EPOCH >= epoch for epoch in milestones)
    return 0.5 * (1 + math.cos(math.pi * (i - m) / (total - m))) * peak  # η_t = ½(1 + cos(πt/T))·η after warmup


@pytest.mark.parametrize('config', RECIPES, ids=lambda p: str(p.relative_to(ROOT / 'configs/cls')))
def test_every_recipe_trains_with_its_closed_form_schedule(config, tmp_path):
    kind, epochs, warmup_epochs, peak = expected_schedule(config)
    lrs = lr_of_every_iteration(prepared_runner(config, tmp_path, ITERS_PER_EPOCH))
    assert len(lrs) == epochs * ITERS_PER_EPOCH
    assert lrs == pytest.approx(
        [closed_form(kind, epochs, warmup_epochs, peak, i) for i in range(len(lrs))], rel=1e-9, abs=1e-12
    )


def test_warmup_then_cosine_at_landmarks_and_paper_warmup(tmp_path):
    lrs = lr_of_every_iteration(
        prepared_runner(ROOT / 'configs/cls/demo/resnet18d_cosine.py', tmp_path, ITERS_PER_EPOCH)
    )
    peak, m = 0.05, 5 * ITERS_PER_EPOCH  # lr 0.05 at the demo's batch of 64
    cosine_iters = len(lrs) - m
    assert lrs[0] == pytest.approx(1e-3 * peak)
    assert lrs[m - 1] == pytest.approx(peak) and lrs[m] == pytest.approx(peak)
    assert lrs[m + cosine_iters // 2] == pytest.approx(peak / 2)
    assert 0 < lrs[-1] < 1e-2 * peak
    # The paper warms up as lr = i·η/m at batch i = 1..m; mmengine's ramp is within one increment η/m of it.
    assert all(abs(lr - (i + 1) * peak / m) <= peak / m for i, lr in enumerate(lrs[:m]))


@pytest.mark.parametrize('batch_size', [64, 1024])
def test_auto_scale_lr_is_linear_in_batch_size(tmp_path, batch_size):
    runner = Runner(
        model=nn.Linear(4, 2),
        work_dir=str(tmp_path),
        experiment_name=f'scale_lr_{batch_size}',
        train_dataloader=dict(dataset=[], batch_size=batch_size, sampler=dict(type='DefaultSampler')),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(
            constructor='tricks.ParamwiseOptimWrapperConstructor',
            optimizer=SGD_DECAY,
            paramwise_cfg=dict(bias_decay_mult=0.0),
        ),
        auto_scale_lr=dict(base_batch_size=256, enable=True),
    )
    wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.scale_lr(wrapper, runner.auto_scale_lr)
    assert [group['lr'] for group in wrapper.optimizer.param_groups] == pytest.approx([0.1 * batch_size / 256] * 2)


def test_the_cpu_record_run_trains_bn_shifts_at_64x_the_lr_and_a_64th_of_the_decay_with_scales_frozen(tmp_path):
    """cifar10-fast's final notebook: BN scales frozen at 1; BN biases at lr × 64, weight decay ÷ 64; the rest plain."""
    runner = prepared_runner(ROOT / 'configs/cls/resnet9/record_cpu.py', tmp_path)
    names = {p: n for n, p in runner.model.named_parameters()}
    groups = {names[p]: g for g in runner.optim_wrapper.optimizer.param_groups for p in g['params']}
    norms = {n for n, m in runner.model.named_modules() if isinstance(m, nn.BatchNorm2d)}
    assert len(norms) == 8  # the record net's 8, the prep's now after the whitening's 1×1 conv
    for name, group in groups.items():
        owner, kind = name.rsplit('.', 1)
        if owner in norms and kind == 'weight':
            assert not runner.model.get_parameter(name).requires_grad
        elif owner in norms:
            assert group['initial_lr'] == pytest.approx(64 * 1.0) and group['weight_decay'] == pytest.approx(5e-4 / 64)
        else:
            assert group['initial_lr'] == 1.0 and group['weight_decay'] == 5e-4 and kind == 'weight'
