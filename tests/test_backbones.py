"""Every backbone preset, swept like timm's model tests: build, shapes, strides, freezing, bad arguments."""

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

from backbones import MODELS, PRESETS, NFNet, ResNet, ResNet9, build_backbone
from backbones.complexity import measure

SMALL = 64  # px: big enough for stride 32, small enough for a 2-core CPU


def parts(model) -> tuple[list, list]:
    """(stem modules, stages) of each family."""
    if isinstance(model, ResNet):
        return model._stem_modules(), [getattr(model, name) for name in model.res_layers]
    if isinstance(model, ResNet9):
        return [model.prep], [model.layer1, model.layer2, model.layer3]
    return [model.stem], list(model.stages)


def small(name: str, **overrides):
    """A preset at reduced width where the family allows it (the structure under test stays the same)."""
    if PRESETS[name]['type'] == 'tricks.ResNet':
        overrides.setdefault('base_channels', 8)
    if PRESETS[name]['type'] == 'tricks.ResNet9':
        overrides.setdefault('width', 0.125)
    return build_backbone(name, **overrides)


@pytest.mark.parametrize('name', list(PRESETS))
def test_every_preset_meets_the_backbone_contract(name):
    """backbones/contract.py: a tuple of maps for out_indices, whose channels and strides the attributes state;
    arch_config() rebuilds the same architecture; trick_card() carries it."""
    model = small(name)
    assert type(model).__module__.startswith('backbones.')
    outs = model(torch.randn(2, 3, SMALL, SMALL))
    assert isinstance(outs, tuple) and len(outs) == len(model.out_indices)
    assert tuple(o.shape[1] for o in outs) == model.out_channels
    assert tuple(SMALL // o.shape[-1] for o in outs) == model.out_strides
    assert all(torch.isfinite(o).all() for o in outs)
    rebuilt = MODELS.build(model.arch_config())
    assert rebuilt.arch_config() == model.arch_config() and model.trick_card()['config'] == model.arch_config()
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


@pytest.mark.parametrize('name', [n for n in PRESETS if not n.startswith('resnet9')])
def test_imagenet_presets_return_four_scales(name):
    assert small(name).out_strides == (4, 8, 16, 32)


@pytest.mark.parametrize('name', ['resnet18d', 'resnet50d', 'nf_resnet50'])
@pytest.mark.parametrize('out_indices', [(3,), (1, 3), (-1,)])
def test_out_indices_select_stages(name, out_indices):
    full = small(name)
    part = small(name, out_indices=out_indices)
    part.load_state_dict(full.state_dict())
    x = torch.randn(1, 3, SMALL, SMALL)
    full.eval(), part.eval()
    expected = [full(x)[i] for i in sorted({i % 4 for i in out_indices})]
    got = part(x)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b)


# fmt: off
@pytest.mark.parametrize('cfg', [
    dict(type='tricks.ResNet', depth=18, variant='d', base_channels=8, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
         contract_dilation=True),
    dict(type='tricks.ResNet', depth=50, variant='d', base_channels=8, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
         contract_dilation=True),
    dict(type='tricks.NFNet', arch='nf_resnet50', output_stride=8),
])
# fmt: on
def test_output_stride_8_for_fcn(cfg):
    assert measure(MODELS.build(cfg), SMALL).strides == (4, 8, 8, 8)


def test_dilated_resnet_contracts_the_first_block_like_mmseg():
    model = ResNet(50, 'd', base_channels=8, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), contract_dilation=True)
    assert [b.conv2.dilation[0] for b in model.layer3][:2] == [1, 2]
    assert [b.conv2.dilation[0] for b in model.layer4][:2] == [2, 4]
    assert model.layer3[0].downsample[1].stride == (1, 1) and isinstance(
        model.layer3[0].downsample[0], torch.nn.Identity
    )


@pytest.mark.parametrize('name', ['resnet18b', 'resnet50d', 'nf_resnet50', 'resnet9'])
@pytest.mark.parametrize('frozen_stages', [0, 2])
def test_frozen_stages_get_no_gradient_and_stay_in_eval(name, frozen_stages):
    model = small(name, frozen_stages=frozen_stages)
    model.train()
    stem, stages = parts(model)
    frozen, trainable = stem + stages[:frozen_stages], stages[2]
    sum(o.mean() for o in model(torch.randn(2, 3, SMALL, SMALL))).backward()
    for module in frozen:
        assert not module.training
        assert all(not p.requires_grad and p.grad is None for p in module.parameters())
    assert trainable.training
    assert all(p.grad is not None for p in trainable.parameters())


def test_frozen_batchnorm_statistics_do_not_move():
    model = small('resnet50b', frozen_stages=1)
    before = model.layer1[0].bn1.running_mean.clone()
    model.train()(torch.randn(2, 3, SMALL, SMALL))
    torch.testing.assert_close(model.layer1[0].bn1.running_mean, before)
    assert not torch.equal(model.layer2[0].bn1.running_mean, torch.zeros_like(model.layer2[0].bn1.running_mean))


def test_norm_eval_keeps_every_batchnorm_in_eval_mode():
    model = small('resnet50d', norm_eval=True).train()
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert norms and not any(m.training for m in norms)
    assert model.layer4.training  # only the norms


# The answer key, from the paper's Table 1 and §3.1 rather than from the code: blocks per stage, and the norm that
# closes each block's residual branch (the second of a basic block, the third of a bottleneck).
BLOCKS_PER_STAGE = {18: (2, 2, 2, 2), 26: (2, 2, 2, 2), 50: (3, 4, 6, 3)}
LAST_NORM = {18: 'bn2', 26: 'bn3', 50: 'bn3'}


@pytest.mark.parametrize('depth', [18, 26, 50])
def test_zero_gamma_zeroes_exactly_the_last_norm_of_every_block(depth):
    model = ResNet(depth, 'd', base_channels=8, zero_init_residual=True)
    expected = {
        f'layer{stage + 1}.{block}.{LAST_NORM[depth]}.weight'
        for stage, count in enumerate(BLOCKS_PER_STAGE[depth])
        for block in range(count)
    }
    norm_weights = {f'{name}.weight': m.weight for name, m in model.named_modules() if isinstance(m, _BatchNorm)}
    zeroed = {name for name, weight in norm_weights.items() if torch.count_nonzero(weight) == 0}
    assert zeroed == expected
    assert all(torch.equal(w, torch.ones_like(w)) for name, w in norm_weights.items() if name not in expected)
    # Each block then starts as identity plus its shortcut: a block without projection passes its input through.
    block = model.layer1[1]
    x = torch.relu(torch.randn(1, block.conv1.in_channels, 8, 8))
    torch.testing.assert_close(block.eval()(x), x)


@pytest.mark.parametrize('depth', [18, 34])
def test_variant_a_is_refused_for_basic_blocks_where_it_would_be_b(depth):
    with pytest.raises(ValueError, match=f'ResNet-{depth}: variant a differs from b only in bottleneck') as info:
        ResNet(depth, 'a')
    assert '\n' not in str(info.value)
    with pytest.raises(ValueError, match='variant a'):
        ResNet(depth, style='caffe')  # mmdet's spelling of a
    assert f'resnet{depth}a' not in PRESETS and f'resnet{depth}b' in PRESETS


@pytest.mark.parametrize('norm_cfg', [dict(type='BN'), dict(type='SyncBN'), dict(type='GN', num_groups=4)])
def test_norm_cfg_kinds(norm_cfg):
    model = ResNet(18, 'd', base_channels=8, norm_cfg=norm_cfg).eval()
    expected = {'BN': torch.nn.BatchNorm2d, 'SyncBN': torch.nn.SyncBatchNorm, 'GN': torch.nn.GroupNorm}
    assert isinstance(model.layer1[0].bn1, expected[norm_cfg['type']])
    assert model(torch.randn(1, 3, SMALL, SMALL))[-1].shape[1] == 64


def test_norm_requires_grad_false_freezes_every_norm():
    model = ResNet(18, 'b', base_channels=8, norm_cfg=dict(type='BN', requires_grad=False))
    norm_params = [p for m in model.modules() if isinstance(m, _BatchNorm) for p in m.parameters()]
    assert norm_params and not any(p.requires_grad for p in norm_params)


@pytest.mark.parametrize(
    'legacy, variant',
    [
        (dict(style='caffe'), 'a'),
        (dict(style='pytorch'), 'b'),
        (dict(deep_stem=True), 'c'),
        (dict(deep_stem=True, avg_down=True), 'd'),
        (dict(style='pytorch', variant='d'), 'd'),
    ],
)
def test_mmdet_spelling_of_the_variants(legacy, variant):
    assert ResNet(26, base_channels=8, **legacy).variant == variant


@pytest.mark.parametrize(
    'cfg, needle',
    [
        (dict(type='tricks.ResNet', variant='e'), "'e'"),
        (dict(type='tricks.ResNet', depth=42), '42'),
        (dict(type='tricks.ResNet', depth=18, out_indices=(0, 4)), '4'),
        (dict(type='tricks.ResNet', depth=18, num_stages=3, out_indices=(3,)), '3'),
        (dict(type='tricks.ResNet', depth=18, frozen_stages=7), '7'),
        (dict(type='tricks.ResNet', depth=18, norm_cfg=dict(type='LayerNormX')), 'LayerNormX'),
        (dict(type='tricks.ResNet', depth=18, style='tensorflow'), 'tensorflow'),
        (dict(type='tricks.NFNet', arch='resnet50'), 'resnet50'),
        (dict(type='tricks.NFNet', arch='nf_resnet50', out_indices=(5,)), '5'),
        (dict(type='tricks.NFNet', arch='nf_resnet50', output_stride=4), '4'),
        (dict(type='tricks.ResNet9', res_layers=('layer1', 'layer4')), "'layer4'"),
        (dict(type='tricks.ResNet9', extra_layers=('prep',)), "'prep'"),
        (dict(type='tricks.ResNet9', downsample='stride'), "'stride'"),
        (dict(type='tricks.ResNet9', bn_weight_init='zeros'), "'zeros'"),
        (dict(type='tricks.ResNet9', out_indices=(3,)), '3'),
    ],
)
def test_bad_arguments_fail_at_build_time_with_one_line_naming_the_value(cfg, needle):
    with pytest.raises(ValueError) as info:
        MODELS.build(cfg)
    message = str(info.value)
    assert needle in message and '\n' not in message


def test_both_families_share_the_backbone_conventions():
    for model in (small('resnet50d'), small('nf_resnet50')):
        assert isinstance(model, (ResNet, NFNet))
        assert model.out_indices == (0, 1, 2, 3) and len(model.out_channels) == 4


def test_activation_checkpointing_gives_the_same_outputs_and_gradients():
    x = torch.randn(2, 3, SMALL, SMALL)
    results = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        model = ResNet(50, 'd', base_channels=8, with_cp=with_cp)
        loss = sum(o.square().mean() for o in model(x))
        loss.backward()
        results.append((loss.detach(), model.layer2[0].conv2.weight.grad.clone()))
        assert all(block.with_cp == with_cp for block in model.layer3)
    torch.testing.assert_close(results[0], results[1])


def test_mmdet_names_for_norms_and_variants():
    model = ResNet(50, 'b', base_channels=8)
    assert model.norm1 is model.bn1 and model.stem_channels == 8
    block = model.layer1[0]
    assert (block.norm1, block.norm2, block.norm3) == (block.bn1, block.bn2, block.bn3)
    assert MODELS.build(dict(type='tricks.ResNetV1c', depth=18)).variant == 'c'
    assert MODELS.build(dict(type='tricks.ResNetV1d', depth=18)).variant == 'd'


@pytest.mark.parametrize(
    'cfg, also',
    [
        (dict(type='tricks.ResNet', depth=20), KeyError),
        (dict(type='tricks.ResNet', num_stages=5), AssertionError),
        (dict(type='tricks.ResNet', style='tensorflow'), AssertionError),
    ],
)
def test_argument_errors_are_also_the_types_mmdet_raises(cfg, also):
    with pytest.raises(also) as info:
        MODELS.build(cfg)
    assert isinstance(info.value, ValueError) and not str(info.value).startswith("'")


@pytest.mark.parametrize('name', ['resnet18d', 'nf_resnet50'])
def test_deprecated_pretrained_argument_becomes_init_cfg(name):
    with pytest.warns(DeprecationWarning):
        model = build_backbone(name, pretrained='weights.pth')
    assert model.init_cfg == dict(type='Pretrained', checkpoint='weights.pth')
    with pytest.raises(ValueError, match='init_cfg'):
        build_backbone(name, pretrained='weights.pth', init_cfg=dict(type='Pretrained', checkpoint='x.pth'))
    with pytest.raises(TypeError, match='pretrained'):
        build_backbone(name, pretrained=0)


@pytest.mark.parametrize('variant', ['b', 'd'])
def test_cifar_stem_keeps_the_resolution_of_small_images(variant):
    model = ResNet(18, variant, base_channels=8, stem_stride=1, stem_pool=False)
    assert measure(model, 32).strides == (1, 2, 4, 8)
