"""ResNet-9 of the CIFAR-10 record runs ("How to train your ResNet", davidcpage/cifar10-fast), and the nets of the
page's architecture search (its part 4) as settings of the same class.

The record net ("Residual: L1+L3"): prep conv-BN-ReLU 64 → layer1: conv-BN-ReLU 128, 2×2 max-pool, residual branch
of two conv-BN-ReLU → layer2: conv-BN-ReLU 256, max-pool → layer3: conv-BN-ReLU 512, max-pool, residual branch. Convs
are 3×3 without bias; a residual branch is added to its input with no ReLU after the sum. 6,573,120 parameters with
the page's bias-free 10-class head, 6,568,000 without it. The classifier's part (global max pool, the bias-free head,
logits × 0.125) is `cls.model.ImageClassifier`'s keys `pooling`, `head_bias`, `logit_scale`.

The search's steps, as settings (the page's CIFAR-10 accuracy at 20 epochs; configs/cls/resnet9/):
- shortest path: `downsample='conv1x1'` (a stride-2 1×1 conv-BN-ReLU), widths 64-128-256-256, no residual, γ drawn
  from U[0, 1] as PyTorch 0.4 initialised BatchNorm (`bn_weight_init='uniform'`): 55.9 %
  (the page's very first net also drops the prep conv's BN-ReLU and puts BN-ReLU before each 1×1 conv: 56.0 % once
  cleaned up as here);
- `downsample='conv3x3'`: a stride-2 3×3 conv-BN-ReLU: 85.6 %;
- `downsample='pool'`: a stride-1 3×3 conv-BN-ReLU, then a 2×2 max-pool: 89.7 %;
- global max pooling, the last width doubled to 512: 90.7 %;  γ = 1 (`bn_weight_init='ones'`), logits × 0.125: 91.1 %;
- `res_layers=('layer1', 'layer3')`: 93.8 % (94.08 % at 24 epochs, the record); `extra_layers` adds a conv-BN-ReLU
  after a layer's pool ("Extra: L1+L2+L3": 95 % at 60 epochs).
"""

from collections.abc import Iterable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from .contract import check_frozen_stages, eval_batch_norms, freeze, init_cfg_with_pretrained, normalise_out_indices
from .errors import ArgError, BackboneArgError
from .norm import build_norm
from .registry import MODELS

LAYERS = ('layer1', 'layer2', 'layer3')
PREPS = ('conv', 'whitening')
DOWNSAMPLES = ('conv1x1', 'conv3x3', 'pool')
BN_WEIGHT_INITS = ('ones', 'uniform')
ACTIVATIONS = ('ReLU', 'CELU', 'GELU', 'SiLU')


def build_act(act_cfg: dict) -> nn.Module:
    """`dict(type=<a torch.nn activation>, **kwargs)`: 'ReLU' as on the page, 'CELU' as in its part 8 (alpha 0.075
    with learnable BN scales, 0.3 with the scales frozen at 1)."""
    cfg = dict(act_cfg)
    cfg.pop('_scope_', None)  # mmengine's mark on dicts read from an `mmseg::`/`mmdet::` base
    kind = cfg.pop('type', None)
    if kind not in ACTIVATIONS:
        raise BackboneArgError(f'ResNet9: act_cfg type {kind!r}; expected one of {", ".join(ACTIVATIONS)}')
    return getattr(nn, kind)(**cfg)


def conv_bn(in_channels: int, out_channels: int, norm_cfg: dict, act_cfg: dict, kernel: int = 3, stride: int = 1,
            pool: bool = False) -> nn.Sequential:  # fmt: skip
    """conv (no bias) → norm → activation, the page's one building block; `pool` puts a 2×2 max-pool right after the
    conv, so that norm and activation run on a quarter of the pixels (the page's part 8: same net, less work)."""
    conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding=kernel // 2, bias=False)
    return nn.Sequential(
        conv, *([nn.MaxPool2d(2)] if pool else []), build_norm(norm_cfg, out_channels), build_act(act_cfg)
    )


class PatchWhitening(nn.Module):
    """A frozen 3×3 conv whose filters whiten the training images' 3×3 patches (cifar10-fast's final notebook, the
    page's part 8): filter k is the k-th eigenvector of the patches' second-moment matrix Σ over √(λ_k + ε), largest
    λ first, so its outputs on those images have second moments diag(λ / (λ + ε)) — decorrelated, and the directions
    carrying more than ε of variance at unit scale. C·9 outputs for C input channels (27 for RGB).

    The filters are buffers, never trained or decayed, and travel in every checkpoint and export; `fitted` says
    whether `fit` has set them (`cls.whitening.PatchWhiteningHook` does, once, before training starts).
    """

    def __init__(self, in_channels: int, patch: int = 3):
        super().__init__()
        self.patch = patch
        self.register_buffer('weight', torch.zeros(in_channels * patch * patch, in_channels, patch, patch))
        self.register_buffer('fitted', torch.tensor(False))
        self._seen_fitted = False  # `fitted` read once on the host, not every step

    @torch.no_grad()
    def fit(self, batches: Iterable[torch.Tensor], eps: float = 1e-2) -> torch.Tensor:
        """Set the filters from batches of N×C×H×W images as the network sees them (normalised), every valid patch
        of each; returns the eigenvalues λ, largest first."""
        channels, size = self.weight.shape[1], self.patch
        second_moment = torch.zeros(channels * size * size, channels * size * size, dtype=torch.float64)
        count = 0
        for images in batches:
            patches = images.float().cpu().unfold(2, size, 1).unfold(3, size, 1)  # N×C×H'×W'×k×k
            rows = patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, channels * size * size).double()
            second_moment += rows.T @ rows
            count += rows.shape[0]
        if count < 2:
            raise ArgError(f'PatchWhitening.fit: {count} patches; needs images of at least {size}×{size} px')
        eigenvalues, eigenvectors = torch.linalg.eigh(second_moment / (count - 1))  # ascending
        eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)
        filters = eigenvectors.T / torch.sqrt(eigenvalues.clamp(min=0) + eps)[:, None]
        self.weight.copy_(filters.reshape_as(self.weight))
        self.fitted.fill_(True)
        return eigenvalues

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and not self._seen_fitted:
            if not bool(self.fitted):
                raise RuntimeError(
                    "PatchWhitening: training with unfitted (all-zero) filters; add default_hooks.whitening=dict(type='"
                    "tricks.PatchWhiteningHook') or load weights that were fitted"
                )
            self._seen_fitted = True
        return F.conv2d(x, self.weight.to(x.dtype), padding=self.patch // 2)


def whitening_prep(in_channels: int, out_channels: int, norm_cfg: dict, act_cfg: dict) -> nn.Sequential:
    """The part-8 prep block: patch whitening → 1×1 conv-norm-act to the prep width."""
    whitening = PatchWhitening(in_channels)
    return nn.Sequential(whitening, conv_bn(whitening.weight.shape[0], out_channels, norm_cfg, act_cfg, kernel=1))


class Residual(nn.Module):
    """x + branch(x), the branch two conv-BN-act blocks of the same width (no activation after the sum, as on the
    page)."""

    def __init__(self, channels: int, norm_cfg: dict, act_cfg: dict):
        super().__init__()
        self.branch = nn.Sequential(conv_bn(channels, channels, norm_cfg, act_cfg),
                                    conv_bn(channels, channels, norm_cfg, act_cfg))  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


def make_layer(in_channels: int, channels: int, downsample: str, pool_before_norm: bool, extra: bool,
               residual: bool, norm_cfg: dict, act_cfg: dict) -> nn.Sequential:  # fmt: skip
    """A stage that halves the resolution, then an optional extra conv and an optional residual branch."""
    if downsample == 'pool' and pool_before_norm:
        blocks = [conv_bn(in_channels, channels, norm_cfg, act_cfg, pool=True)]
    elif downsample == 'pool':
        blocks = [conv_bn(in_channels, channels, norm_cfg, act_cfg), nn.MaxPool2d(2)]
    else:
        kernel = 1 if downsample == 'conv1x1' else 3
        blocks = [conv_bn(in_channels, channels, norm_cfg, act_cfg, kernel=kernel, stride=2)]
    if extra:
        blocks.append(conv_bn(channels, channels, norm_cfg, act_cfg))
    if residual:
        blocks.append(Residual(channels, norm_cfg, act_cfg))
    return nn.Sequential(*blocks)


@MODELS.register_module()
class ResNet9(BaseModule):
    """The record net and its search's nets (module docstring), with the suite's backbone contract.

    Args:
        channels: widths of the prep conv and of layer1..3 (the record net: 64, 128, 256, 512).
        width: a multiplier on every width (0.5 for a quicker CPU run, 2 for the page's "double width").
        res_layers: the layers that end in a residual branch.
        extra_layers: the layers that get an extra conv-BN-ReLU after their downsampling.
        downsample: 'pool' (stride-1 conv, then 2×2 max-pool), 'conv3x3' or 'conv1x1' (a stride-2 conv).
        prep: 'conv' (a 3×3 conv-norm-act, the page) or 'whitening' (`PatchWhitening`, then a 1×1 conv-norm-act:
            part 8; the filters are fitted to the training images by `tricks.PatchWhiteningHook`).
        pool_before_norm: with downsample='pool', conv → max-pool → norm → activation (the page's part 8) instead of
            conv → norm → activation → max-pool: the same function class with a quarter of the norm/act work.
        act_cfg: the activation, `dict(type='ReLU')` (the page) or e.g. `dict(type='CELU', alpha=0.3)` (part 8 with
            frozen BN scales; 0.075 with learnable ones).
        bn_weight_init: 'ones' (today's PyTorch, the page's finding) or 'uniform' (γ ~ U[0, 1], as PyTorch 0.4 did).
        out_indices: the layers (0..2 = layer1..3) whose outputs are returned, at strides 2, 4, 8.
        frozen_stages: freeze prep (0) and layers 1..frozen_stages; -1 freezes nothing.
        norm_cfg, norm_eval, init_cfg, pretrained: as for `tricks.ResNet`.
    """

    def __init__(
        self,
        channels: Sequence[int] = (64, 128, 256, 512),
        width: float = 1.0,
        res_layers: Sequence[str] = ('layer1', 'layer3'),
        extra_layers: Sequence[str] = (),
        downsample: str = 'pool',
        prep: str = 'conv',
        pool_before_norm: bool = False,
        act_cfg: dict | None = None,
        bn_weight_init: str = 'ones',
        in_channels: int = 3,
        out_indices: Sequence[int] = (0, 1, 2),
        frozen_stages: int = -1,
        norm_cfg: dict | None = None,
        norm_eval: bool = False,
        pretrained: str | None = None,
        init_cfg: dict | list | None = None,
    ):
        super().__init__(init_cfg=init_cfg_with_pretrained(pretrained, init_cfg))
        for key, names in (('res_layers', res_layers), ('extra_layers', extra_layers)):
            unknown = sorted(set(names) - set(LAYERS))
            if unknown:
                raise BackboneArgError(f'ResNet9: {key} names {unknown[0]!r}; the layers are {", ".join(LAYERS)}')
        for key, value, allowed in (('downsample', downsample, DOWNSAMPLES), ('prep', prep, PREPS),
                                    ('bn_weight_init', bn_weight_init, BN_WEIGHT_INITS)):  # fmt: skip
            if value not in allowed:
                raise BackboneArgError(f'ResNet9: {key}={value!r}; expected one of {", ".join(allowed)}')
        if len(channels) != 1 + len(LAYERS) or not width > 0:
            raise BackboneArgError(f'ResNet9: channels {tuple(channels)} needs 4 widths (prep, layer1..3) and width '
                                   f'{width} must be > 0')  # fmt: skip
        self.channels = tuple(int(c) for c in channels)
        self.width, self.in_channels, self.downsample, self.bn_weight_init = (
            width,
            in_channels,
            downsample,
            bn_weight_init,
        )
        self.pool_before_norm, self.prep_type = bool(pool_before_norm), prep
        self.act_cfg = dict(act_cfg or dict(type='ReLU', inplace=True))
        self.res_layers, self.extra_layers = tuple(res_layers), tuple(extra_layers)
        self.out_indices = normalise_out_indices(out_indices, len(LAYERS))
        self.frozen_stages = check_frozen_stages(frozen_stages, len(LAYERS))
        self.norm_eval = norm_eval
        norm_cfg = norm_cfg or dict(type='BN', requires_grad=True)
        widths = [max(1, round(c * width)) for c in self.channels]
        make_prep = whitening_prep if prep == 'whitening' else conv_bn
        self.prep = make_prep(in_channels, widths[0], norm_cfg, self.act_cfg)
        for i, name in enumerate(LAYERS):
            extra, residual = name in extra_layers, name in res_layers
            layer = make_layer(widths[i], widths[i + 1], downsample, self.pool_before_norm, extra, residual, norm_cfg,
                               self.act_cfg)  # fmt: skip
            self.add_module(name, layer)
        self.out_channels = tuple(widths[i + 1] for i in self.out_indices)
        self.out_strides = tuple(2 ** (i + 1) for i in self.out_indices)
        self._init_norms()
        self._freeze_stages()

    def _init_norms(self) -> None:
        for m in self.modules():
            if isinstance(m, (_BatchNorm, nn.GroupNorm)):
                nn.init.ones_(m.weight) if self.bn_weight_init == 'ones' else nn.init.uniform_(m.weight, 0, 1)
                nn.init.zeros_(m.bias)

    def arch_config(self) -> dict:
        """The keys that say what the weights mean (see `backbones.contract`)."""
        return dict(type='tricks.ResNet9', channels=list(self.channels), width=self.width,
                    res_layers=list(self.res_layers), extra_layers=list(self.extra_layers),
                    downsample=self.downsample, prep=self.prep_type, pool_before_norm=self.pool_before_norm,
                    act_cfg=dict(self.act_cfg), in_channels=self.in_channels)  # fmt: skip

    def trick_card(self) -> dict:
        return dict(config=self.arch_config(), bn_weight_init=self.bn_weight_init)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            freeze([self.prep, *(getattr(self, name) for name in LAYERS[: self.frozen_stages])])

    def train(self, mode: bool = True) -> 'ResNet9':
        """Keep frozen stages (and, with norm_eval, every BatchNorm) in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            eval_batch_norms(self)
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.prep(x)
        outs = []
        for i, name in enumerate(LAYERS):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
