"""Our ResNet against implementations we did not write (timm for b, c, d; mmdet for a) and the paper's Table 5."""

import pytest
import timm
import torch

from backbones import ResNet, build_backbone
from backbones.checkpoint import timm_to_tricks
from backbones.complexity import measure

pytestmark = pytest.mark.cpu_kind  # kernels, tolerances or precision: run on both CPU kinds (test_cpu_kinds.py)


def randomise(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random weights and BN statistics, so that equal outputs mean equal computations, not equal inits."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                values = torch.randn(tensor.shape, generator=gen) * 0.1
                tensor.copy_(values.abs() + 0.5 if name.endswith('running_var') else values)
    model.eval()  # (mmdet modules return None from eval())
    return model


# Odd sizes make every stride-2 layer round: the D shortcut's 2×2 average pool then takes its `ceil_mode` path, whose
# last window holds one row or column of real pixels (count_include_pad=False), as timm's `downsample_avg` does.
@pytest.mark.parametrize('size', [96, 97, 75])
@pytest.mark.parametrize(
    'timm_name, depth, variant',
    [
        ('resnet50', 50, 'b'),
        ('resnet50c', 50, 'c'),
        ('resnet50d', 50, 'd'),
        ('resnet18', 18, 'b'),
        ('resnet18d', 18, 'd'),
        ('resnet26', 26, 'b'),
        ('resnet26d', 26, 'd'),
        ('resnet34', 34, 'b'),
        ('resnet152d', 152, 'd'),
    ],
)
def test_same_outputs_as_timm_with_copied_weights(timm_name, depth, variant, size):
    reference = randomise(timm.create_model(timm_name, pretrained=False))
    ours = ResNet(depth, variant).eval()
    ours.load_state_dict(timm_to_tricks(reference.state_dict()), strict=True)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        expected = reference.forward_intermediates(x, indices=[1, 2, 3, 4], intermediates_only=True)
        got = ours(x)
    for a, b in zip(got, expected, strict=True):
        assert (a - b).abs().max().item() <= 1e-4 * max(1.0, b.abs().max().item())


@pytest.mark.parametrize('size', [96, 97])
def test_variant_a_matches_mmdet_caffe_style(size):
    from mmdet.models.backbones import ResNet as MMDetResNet

    reference = randomise(MMDetResNet(depth=50, style='caffe', init_cfg=None))
    ours = ResNet(50, 'a').eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        for a, b in zip(ours(x), reference(x), strict=True):
            assert (a - b).abs().max().item() <= 1e-4 * max(1.0, b.abs().max().item())


# Table 5 of the paper: params 25M for all four; FLOPs (multiply-adds) 3.8 / 4.1 / 4.3 / 4.3 G at 224 px.
TABLE5 = {'a': 3.8e9, 'b': 4.1e9, 'c': 4.3e9, 'd': 4.3e9}


@pytest.mark.parametrize('variant', list(TABLE5))
def test_resnet50_params_and_flops_match_table5(variant):
    backbone = measure(build_backbone(f'resnet50{variant}'))
    classifier_params = 2048 * 1000 + 1000
    assert abs(backbone.params + classifier_params - 25e6) / 25e6 <= 0.05
    assert abs(backbone.macs + 2048 * 1000 - TABLE5[variant]) / TABLE5[variant] <= 0.05


def test_table5_ordering_of_the_tweaks():
    """b costs more than a (the 3×3 now strides after the full-resolution 1×1); c adds the deep stem; d is free."""
    macs = {v: measure(build_backbone(f'resnet50{v}')).macs for v in 'abcd'}
    assert macs['a'] < macs['b'] < macs['c'] == macs['d']
