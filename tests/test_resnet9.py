"""tricks.ResNet9 against the CIFAR-10 record net as cifar10-fast defines it, and its settings against the steps of
the page's architecture search. The answer keys are the page's net written out by hand, not the code."""

import pytest
import torch
import torch.nn as nn

from backbones import MODELS, ResNet9

# The record net by hand: (in, out) of every 3×3 bias-free conv, each followed by a BatchNorm of `out` channels.
RECORD_CONVS = [(3, 64), (64, 128), (128, 128), (128, 128), (128, 256), (256, 512), (512, 512), (512, 512)]
RECORD_PARAMS = sum(9 * i * o + 2 * o for i, o in RECORD_CONVS)  # conv weights + BN γ and β: 6,568,000


def test_the_record_net_has_the_pages_parameters_shapes_and_strides():
    net = ResNet9()
    assert sum(p.numel() for p in net.parameters()) == RECORD_PARAMS == 6_568_000
    assert RECORD_PARAMS + 512 * 10 == 6_573_120  # with the page's bias-free 10-class head: "about 6.57 M"
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == RECORD_CONVS
    assert all(c.kernel_size == (3, 3) and c.stride == (1, 1) and c.bias is None for c in convs)
    outs = net(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape[1:]) for o in outs] == [(128, 16, 16), (256, 8, 8), (512, 4, 4)]
    assert net.out_channels == (128, 256, 512) and net.out_strides == (2, 4, 8)


def test_a_residual_branch_is_two_conv_bn_relu_added_to_its_input_without_a_relu_after():
    net = ResNet9(width=0.25).eval()
    residual = net.layer1[2]
    x = torch.randn(2, 32, 8, 8)  # negative values too: a ReLU after the sum would show
    out = residual(x)
    torch.testing.assert_close(out, x + residual.branch[1](residual.branch[0](x)))
    assert (out < 0).any()
    assert [type(m) for m in residual.branch[0]] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert [type(m) for m in net.layer1[:2]] == [nn.Sequential, nn.MaxPool2d]  # conv-BN-ReLU, pool, then the branch
    assert not any(isinstance(m, type(residual)) for m in net.layer2)  # only layers 1 and 3 carry one


@pytest.mark.parametrize(
    'downsample, kernel, stride, pooled', [('conv1x1', 1, 2, False), ('conv3x3', 3, 2, False), ('pool', 3, 1, True)]
)
def test_the_searchs_downsampling_steps(downsample, kernel, stride, pooled):
    net = ResNet9(channels=(64, 128, 256, 256), res_layers=(), downsample=downsample, width=0.125)
    for name in ('layer1', 'layer2', 'layer3'):
        layer = getattr(net, name)
        conv = layer[0][0]
        assert (conv.kernel_size, conv.stride) == ((kernel, kernel), (stride, stride))
        assert isinstance(layer[-1], nn.MaxPool2d) == pooled and len(layer) == 1 + pooled
    assert [o.shape[-1] for o in net(torch.randn(1, 3, 32, 32))] == [16, 8, 4]


def test_extra_layers_add_a_conv_after_the_pool():
    net = ResNet9(res_layers=(), extra_layers=('layer1', 'layer2', 'layer3'), width=0.125)
    for name in ('layer1', 'layer2', 'layer3'):
        layer = getattr(net, name)
        assert isinstance(layer[1], nn.MaxPool2d) and [type(m) for m in layer[2]] == [
            nn.Conv2d,
            nn.BatchNorm2d,
            nn.ReLU,
        ]


def test_pool_before_norm_pools_the_conv_output_then_normalises_and_activates_it():
    """The page's part 8: conv → max-pool → BN → act; by hand with the same modules."""
    torch.manual_seed(0)
    net = ResNet9(pool_before_norm=True, act_cfg=dict(type='CELU', alpha=0.075), width=0.125).train()
    x = torch.randn(4, 3, 32, 32)
    for name in ('layer1', 'layer2', 'layer3'):
        block = getattr(net, name)[0]
        assert [type(m) for m in block] == [nn.Conv2d, nn.MaxPool2d, nn.BatchNorm2d, nn.CELU]
    conv, _, bn, _ = net.layer2[0]
    h = torch.randn(4, 16, 16, 16)
    pooled = torch.nn.functional.max_pool2d(conv(h), 2)
    mean, var = pooled.mean((0, 2, 3), keepdim=True), pooled.var((0, 2, 3), unbiased=False, keepdim=True)
    by_hand = torch.nn.functional.celu((pooled - mean) / torch.sqrt(var + bn.eps), alpha=0.075)  # γ = 1, β = 0
    torch.testing.assert_close(net.layer2[0](h), by_hand, atol=1e-5, rtol=1e-4)
    assert [o.shape[-1] for o in net(x)] == [16, 8, 4]
    same = ResNet9(width=0.125)  # the default order keeps the page's search: conv-BN-ReLU, then the pool
    assert [type(m) for m in same.layer1[0]] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in same.parameters())


def test_act_cfg_sets_every_activation_and_an_unknown_one_is_named():
    net = ResNet9(act_cfg=dict(type='CELU', alpha=0.3), width=0.125)
    acts = [m for m in net.modules() if isinstance(m, (nn.ReLU, nn.CELU))]
    assert len(acts) == 8 and all(isinstance(m, nn.CELU) and m.alpha == 0.3 for m in acts)
    assert MODELS.build(net.arch_config()).arch_config() == net.arch_config()
    with pytest.raises(ValueError, match="act_cfg type 'Swish'"):
        ResNet9(act_cfg=dict(type='Swish'))


def test_bn_gamma_starts_at_one_or_as_pytorch_0_4_drew_it():
    ones = [m.weight for m in ResNet9().modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.equal(w, torch.ones_like(w)) for w in ones)
    torch.manual_seed(0)
    drawn = torch.cat(
        [m.weight.detach() for m in ResNet9(bn_weight_init='uniform').modules() if isinstance(m, nn.BatchNorm2d)]
    )
    assert drawn.min() >= 0 and drawn.max() <= 1 and abs(drawn.mean().item() - 0.5) < 0.02  # U[0, 1], 2,240 draws


def test_width_multiplies_every_width_and_arch_config_rebuilds_it():
    net = ResNet9(width=0.5)
    assert net.out_channels == (64, 128, 256)
    rebuilt = MODELS.build(net.arch_config())
    assert rebuilt.out_channels == net.out_channels and rebuilt.arch_config() == net.arch_config()


@pytest.mark.usefixtures('one_thread')
@pytest.mark.parametrize('task, data', [('det', 'voc'), ('seg', 'ade')])
def test_its_stages_feed_the_demo_detector_and_segmentor(task, data, tmp_path):
    from datagen.demo_world import generate
    from engine.cli import main

    generate(tmp_path / 'world', seed=0, scenes_train=8, scenes_val=4)
    config = f'configs/{task}/demo/resnet9_random_init.py'
    runner = main(
        task,
        'train',
        [
            config,
            '--work-dir',
            str(tmp_path / 'work'),
            '--data-root',
            str(tmp_path / 'world' / data),
            '--cfg-options',
            'train_cfg.max_iters=1',
            'train_cfg.val_interval=1',
            'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
        ],
    )
    assert isinstance(runner.model.backbone, ResNet9) and runner.iter == 1
    losses = {k: v for k, v in runner.message_hub.log_scalars.items() if k.startswith('train/') and 'loss' in k}
    assert losses and all(torch.isfinite(torch.tensor(b.current())) and b.current() > 0 for b in losses.values())
