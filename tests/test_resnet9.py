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


@pytest.mark.cpu_kind
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


# The page's part 8 (cifar10-fast's final notebook) ---------------------------------------------------------------


def slice_batch_norm(x, weight, bias, eps):
    """Ghost BN by the formula: each slice normalised by its own mean and biased variance, then γ·x̂ + β."""
    mean = x.mean((0, 2, 3), keepdim=True)
    var = x.var((0, 2, 3), unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)


@pytest.mark.cpu_kind
@pytest.mark.parametrize('channels_last', [False, True])
def test_ghost_bn_normalises_each_slice_by_its_own_statistics_forward_and_backward(channels_last):
    from backbones.norm import build_norm

    torch.manual_seed(0)
    bn = build_norm(dict(type='GhostBN', num_splits=4), 5)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2), bn.bias.normal_()
    x = torch.randn(16, 5, 6, 6) * 3 + 1
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    out = bn(x)
    reference_x = x.detach().clone().requires_grad_(True)
    reference = torch.cat([slice_batch_norm(piece, bn.weight, bn.bias, bn.eps) for piece in reference_x.chunk(4)])
    torch.testing.assert_close(out, reference, atol=1e-5, rtol=1e-5)
    upstream = torch.randn_like(out)
    (out * upstream).sum().backward()
    (reference * upstream).sum().backward()
    torch.testing.assert_close(x.grad, reference_x.grad, atol=1e-4, rtol=1e-4)
    whole = slice_batch_norm(x.detach(), bn.weight, bn.bias, bn.eps)  # the ordinary BN output differs
    assert (out - whole).abs().max() > 0.05


@pytest.mark.cpu_kind
def test_ghost_bn_running_statistics_average_the_slices_and_load_into_a_plain_batch_norm():
    from backbones.norm import GhostBatchNorm2d

    torch.manual_seed(0)
    bn = GhostBatchNorm2d(3, num_splits=2, momentum=0.1)
    steps = [torch.randn(8, 3, 4, 4) * (i + 1) + i for i in range(3)]
    mean, var = torch.zeros(3), torch.ones(3)
    for x in steps:  # cifar10-fast: one running copy per slice, each moved by momentum, averaged for eval
        bn(x)
        pieces = x.chunk(2)
        mean = 0.9 * mean + 0.1 * torch.stack([p.mean((0, 2, 3)) for p in pieces]).mean(0)
        var = 0.9 * var + 0.1 * torch.stack([p.var((0, 2, 3), unbiased=True) for p in pieces]).mean(0)
    torch.testing.assert_close(bn.running_mean, mean)
    torch.testing.assert_close(bn.running_var, var)
    assert int(bn.num_batches_tracked) == 3
    plain = nn.BatchNorm2d(3)
    plain.load_state_dict(bn.state_dict())
    probe = torch.randn(5, 3, 4, 4)
    torch.testing.assert_close(bn.eval()(probe), plain.eval()(probe))
    untracked = GhostBatchNorm2d(3, num_splits=2, track_running_stats=False)  # no running statistics to move
    torch.testing.assert_close(untracked(steps[0]), torch.cat([slice_batch_norm(p, untracked.weight, untracked.bias,
                               untracked.eps) for p in steps[0].chunk(2)]), atol=1e-5, rtol=1e-5)  # fmt: skip
    with pytest.raises(ValueError, match='batch of 6 does not split into 4'):
        GhostBatchNorm2d(3, num_splits=4)(torch.randn(6, 3, 2, 2))


def test_frozen_bn_scales_stay_at_one_while_the_shifts_learn():
    net = ResNet9(width=0.125, norm_cfg=dict(type='GhostBN', num_splits=2, freeze_scale=True))
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 8 and all(type(m).__name__ == 'GhostBatchNorm2d' and m.num_splits == 2 for m in norms)
    assert all(not m.weight.requires_grad and m.bias.requires_grad for m in norms)
    net(torch.randn(4, 3, 32, 32))[-1].sum().backward()
    assert all(m.weight.grad is None and m.bias.grad is not None for m in norms)
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in norms)


def correlated_images(n: int = 64) -> torch.Tensor:
    """Images whose neighbouring pixels and channels are strongly correlated, like photographs."""
    torch.manual_seed(0)
    base = torch.nn.functional.avg_pool2d(torch.randn(n, 1, 20, 20), 3, 1, padding=1)
    return torch.cat([base, 0.8 * base + 0.2 * torch.randn(n, 1, 20, 20), -base], 1) + 0.05 * torch.randn(n, 3, 20, 20)


@pytest.mark.cpu_kind
def test_patch_whitening_decorrelates_the_3x3_patches_it_was_fitted_to():
    from backbones.resnet9 import PatchWhitening

    images, eps = correlated_images(), 1e-2
    layer = PatchWhitening(3)
    eigenvalues = layer.fit(images.split(10), eps=eps)
    # The answer key: the patches' second moments by torch's own unfold, then the property whitening means.
    patches = torch.nn.functional.unfold(images.double(), 3).transpose(1, 2).reshape(-1, 27)
    moments = patches.T @ patches / (patches.shape[0] - 1)
    filters = layer.weight.double().reshape(27, 27)
    whitened = filters @ moments @ filters.T
    expected = torch.diag(torch.linalg.eigvalsh(moments).flip(0))
    torch.testing.assert_close(eigenvalues, expected.diagonal(), rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(whitened, torch.diag(expected.diagonal() / (expected.diagonal() + eps)),
                               atol=1e-6, rtol=1e-5)  # fmt: skip
    assert bool(layer.fitted) and eigenvalues[0] > 100 * eigenvalues[-1]  # the data was far from white
    # The layer is that filter bank as a 3×3 conv: at interior pixels its outputs are the filters times the patch.
    out = layer(images)
    assert out.shape == (64, 27, 20, 20)
    torch.testing.assert_close(out[:, :, 1:-1, 1:-1].permute(0, 2, 3, 1).reshape(-1, 27).double(),
                               patches @ filters.T, atol=1e-4, rtol=1e-4)  # fmt: skip


def test_the_whitening_prep_is_frozen_saved_and_refuses_to_train_unfitted():
    net = ResNet9(width=0.125, prep='whitening')
    whitening, conv = net.prep[0], net.prep[1][0]
    assert conv.kernel_size == (1, 1) and conv.in_channels == 27 and conv.out_channels == 8
    assert not any('prep.0' in name for name, _ in net.named_parameters())  # buffers: never trained nor decayed
    assert {'prep.0.weight', 'prep.0.fitted'} <= set(net.state_dict())
    with pytest.raises(RuntimeError, match='PatchWhitening: training with unfitted'):
        net(torch.randn(2, 3, 32, 32))
    net.eval()(torch.randn(2, 3, 32, 32))  # evaluating is allowed (e.g. a shape check)
    whitening.fit([correlated_images(8)])
    again = ResNet9(width=0.125, prep='whitening')
    again.load_state_dict(net.state_dict())
    assert bool(again.prep[0].fitted) and torch.equal(again.prep[0].weight, whitening.weight)
    again.train()(torch.randn(2, 3, 32, 32))
    assert MODELS.build(net.arch_config()).arch_config() == net.arch_config()
    with pytest.raises(ValueError, match="prep='zca'"):
        ResNet9(prep='zca')


def test_the_whitening_hook_fits_to_evenly_spread_normalised_training_images_once():
    from types import SimpleNamespace

    from mmengine.dataset import default_collate
    from mmengine.logging import MMLogger

    from cls.whitening import PatchWhiteningHook

    torch.manual_seed(0)
    pixels = torch.randint(0, 256, (50, 3, 12, 12), dtype=torch.uint8)
    dataset = [dict(inputs=pixels[i], labels=i % 10) for i in range(50)]  # an image folder lists class by class
    loader = torch.utils.data.DataLoader(dataset, batch_size=8, collate_fn=default_collate)
    mean, std = (100.0, 110.0, 120.0), (50.0, 60.0, 70.0)
    model = MODELS.build(dict(type='tricks.ImageClassifier', num_classes=10,
                              backbone=dict(type='tricks.ResNet9', width=0.125, prep='whitening'),
                              data_preprocessor=dict(mean=mean, std=std)))  # fmt: skip
    runner = SimpleNamespace(model=model, train_dataloader=loader, logger=MMLogger.get_current_instance())
    PatchWhiteningHook(num_images=5, eps=0.1).before_train(runner)
    picked = [0, 12, 24, 37, 49]  # the first image, the last, evenly between (rounded)
    normalised = (pixels[picked].float() - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    by_hand = ResNet9(width=0.125, prep='whitening').prep[0]
    by_hand.fit([normalised], eps=0.1)
    whitening = model.backbone.prep[0]
    torch.testing.assert_close(whitening.weight, by_hand.weight, rtol=1e-5, atol=1e-6)
    fitted = whitening.weight.clone()
    PatchWhiteningHook(num_images=50).before_train(runner)  # a resumed run: the filters it saved stay
    assert torch.equal(whitening.weight, fitted)
    with pytest.raises(ValueError, match='num_images=0'):
        PatchWhiteningHook(num_images=0)
