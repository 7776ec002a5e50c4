"""ResNet in the four variants of "Bag of Tricks for Image Classification" (He et al. 2019, Fig. 2).

One family, three named tweaks (`VARIANTS`):
- a: the original ResNet: the downsampling block strides in its first 1×1 conv (which skips ¾ of the input);
- b: the stride moves to the 3×3 conv (torchvision's and timm's `resnet50`, mmdet's `style='pytorch'`);
- c: b with the 7×7 stem replaced by three 3×3 convs of 32-32-64 channels (`deep_stem`);
- d: c with the shortcut's stride moved into a 2×2 average pool before a stride-1 1×1 conv (`avg_down`).

Parameter names follow torchvision/mmdet (`conv1`, `bn1`, `layer1.0.conv2`, `downsample.0`) and mmdet's deep `stem`,
so their checkpoints load unchanged; `backbones.checkpoint.timm_to_tricks` maps timm's names. The constructor also
takes mmdet's `style`/`deep_stem`/`avg_down` so that a stock mmdet or mmseg config that only swaps
`type='tricks.ResNet'` still builds; `variant`, when given, decides.
"""

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.utils.checkpoint
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from .contract import check_frozen_stages, eval_batch_norms, freeze, init_cfg_with_pretrained, normalise_out_indices
from .errors import BackboneArgError, UnknownDepthError
from .norm import build_norm
from .registry import MODELS


class Variant(NamedTuple):
    stride_in_1x1: bool  # a: the downsampling block strides in its first 1×1 conv instead of the 3×3
    deep_stem: bool  # c, d: three 3×3 convs in place of the 7×7 stem conv
    avg_down: bool  # d: shortcut = 2×2 avg-pool (stride 2) → 1×1 conv (stride 1)


VARIANTS = {
    'a': Variant(stride_in_1x1=True, deep_stem=False, avg_down=False),
    'b': Variant(stride_in_1x1=False, deep_stem=False, avg_down=False),
    'c': Variant(stride_in_1x1=False, deep_stem=True, avg_down=False),
    'd': Variant(stride_in_1x1=False, deep_stem=True, avg_down=True),
}


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride, padding=dilation, dilation=dilation, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)


class ResidualBlock(nn.Module):
    """relu(residual(x) + shortcut(x)). Norms are `bn1, bn2, …` (torchvision, timm); mmdet's `norm1, …` alias them."""

    expansion: int

    def __init__(self, downsample: nn.Module | None, with_cp: bool):
        super().__init__()
        self.downsample = downsample
        self.with_cp = with_cp
        self.relu = nn.ReLU(inplace=True)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @property
    def last_norm(self) -> nn.Module:
        """The norm that zero-γ zeroes: the block then starts as its shortcut."""
        raise NotImplementedError

    # mmdet's names of the norms
    norm1 = property(lambda self: self.bn1)
    norm2 = property(lambda self: self.bn2)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.residual(x)
        out += identity  # in place, as timm: no new activation-sized tensor per block (a norm's output is not saved)
        return self.relu(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return torch.utils.checkpoint.checkpoint(self._forward, x, use_reentrant=False)
        return self._forward(x)


class BasicBlock(ResidualBlock):
    """Two 3×3 convs (ResNet-18/34). As in mmdet/mmseg, only the first conv is dilated. It has no 1×1 conv, so
    variants a and b are the same network here: `ResNet` refuses a for basic blocks."""

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, norm_cfg: dict | None = None, with_cp: bool = False):  # fmt: skip
        super().__init__(downsample, with_cp)
        norm_cfg = norm_cfg or dict(type='BN')
        self.conv1 = conv3x3(in_channels, channels, stride, dilation)
        self.bn1 = build_norm(norm_cfg, channels)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = build_norm(norm_cfg, channels)

    last_norm = property(lambda self: self.bn2)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))


class Bottleneck(ResidualBlock):
    """1×1 reduce → 3×3 → 1×1 expand (ResNet-26/50/101/152); the stride sits in the 3×3 unless `stride_in_1x1` (a)."""

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, norm_cfg: dict | None = None, with_cp: bool = False,
                 stride_in_1x1: bool = False):  # fmt: skip
        super().__init__(downsample, with_cp)
        norm_cfg = norm_cfg or dict(type='BN')
        stride_1x1, stride_3x3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = conv1x1(in_channels, channels, stride_1x1)
        self.bn1 = build_norm(norm_cfg, channels)
        self.conv2 = conv3x3(channels, channels, stride_3x3, dilation)
        self.bn2 = build_norm(norm_cfg, channels)
        self.conv3 = conv1x1(channels, channels * self.expansion)
        self.bn3 = build_norm(norm_cfg, channels * self.expansion)

    last_norm = property(lambda self: self.bn3)
    norm3 = property(lambda self: self.bn3)

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


def make_deep_stem(in_channels: int, channels: int, norm_cfg: dict, stride: int = 2) -> nn.Sequential:
    """Variants c/d: the 7×7 stem conv becomes three 3×3 convs (channels/2, channels/2, channels), the first strided."""
    half = channels // 2
    return nn.Sequential(
        conv3x3(in_channels, half, stride=stride),
        build_norm(norm_cfg, half),
        nn.ReLU(inplace=True),
        conv3x3(half, half),
        build_norm(norm_cfg, half),
        nn.ReLU(inplace=True),
        conv3x3(half, channels),
        build_norm(norm_cfg, channels),
        nn.ReLU(inplace=True),
    )


def make_shortcut(in_channels: int, out_channels: int, stride: int, avg_down: bool, norm_cfg: dict) -> nn.Sequential:
    """The projection shortcut of a stage's first block. Variant d averages 2×2 patches before a stride-1 1×1 conv,
    so no input pixel is skipped; elsewhere the 1×1 conv strides. (Index 0 stays a parameter-free slot in d so that
    parameter names match timm's and mmdet's.)"""
    if avg_down:
        pool = nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False) if stride > 1 else nn.Identity()
        return nn.Sequential(pool, conv1x1(in_channels, out_channels), build_norm(norm_cfg, out_channels))
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), build_norm(norm_cfg, out_channels))


def resolve_variant(variant: str | None, style: str | None, deep_stem: bool | None, avg_down: bool | None) -> str:
    """`variant` if given; otherwise derived from mmdet's spelling (style='caffe' → a, 'pytorch' → b, + deep_stem → c,
    + avg_down → d) so that inherited mmdet/mmseg backbone dicts keep their meaning."""
    if variant is not None:
        if variant not in VARIANTS:
            raise BackboneArgError(f'ResNet: unknown variant {variant!r}; expected one of {", ".join(VARIANTS)}')
        return variant
    style = style or 'pytorch'
    if style not in ('pytorch', 'caffe'):
        raise BackboneArgError(f"ResNet: unknown style {style!r}; expected 'pytorch' or 'caffe'")
    wanted = Variant(stride_in_1x1=style == 'caffe', deep_stem=bool(deep_stem), avg_down=bool(avg_down))
    for name, spec in VARIANTS.items():
        if spec == wanted:
            return name
    raise BackboneArgError(
        f'ResNet: style={style!r}, deep_stem={deep_stem}, avg_down={avg_down} is none of the variants '
        f'a/b/c/d; pass variant= instead'
    )


@MODELS.register_module()
class ResNet(BaseModule):
    """ResNet-{18,34,50,101,152} in variant a/b/c/d, returning the feature maps of stages `out_indices`.

    Args:
        depth: 18, 26, 34, 50, 101 or 152.
        variant: 'a', 'b', 'c' or 'd' (see the module docstring); None derives it from style/deep_stem/avg_down.
            'a' needs bottleneck blocks (depth ≥ 50, or 26): basic blocks have no 1×1 conv to move the stride from.
        base_channels: width of the first stage (64 in the paper; smaller for quick CPU runs).
        stem_channels: output channels of the stem (default: base_channels).
        strides, dilations: per stage; FCN's D8 backbone is strides (1, 2, 1, 1), dilations (1, 1, 2, 4).
        contract_dilation: the first block of a dilated stage uses half the dilation (mmseg's convention).
        stem_stride, stem_pool: the stem's stride and its 3×3 max-pool; 32-px images (CIFAR) keep their resolution
            with stem_stride=1, stem_pool=False, as CIFAR ResNets do.
        out_indices: stages whose outputs are returned (negative indices count from the last stage).
        frozen_stages: freeze the stem (0) and stages 1..frozen_stages; -1 freezes nothing.
        norm_cfg: dict(type='BN'|'SyncBN'|'GN', requires_grad=...).
        norm_eval: keep every BatchNorm in eval mode while training (frozen statistics for fine-tuning).
        zero_init_residual: zero-γ: the last norm of every block starts at γ = 0, so each block starts as identity.
        with_cp: recompute each block's activations in the backward pass (activation checkpointing): less memory.
        style, deep_stem, avg_down, pretrained: mmdet's spelling, accepted so that stock configs build.
        init_cfg: mmengine init config, e.g. dict(type='Pretrained', checkpoint=..., prefix='backbone.').
    """

    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        26: (Bottleneck, (2, 2, 2, 2)),  # timm's resnet26: the smallest net in which a and b differ
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(
        self,
        depth: int = 50,
        variant: str | None = None,
        in_channels: int = 3,
        stem_channels: int | None = None,
        base_channels: int = 64,
        num_stages: int = 4,
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        contract_dilation: bool = False,
        stem_stride: int = 2,
        stem_pool: bool = True,
        out_indices: Sequence[int] = (0, 1, 2, 3),
        frozen_stages: int = -1,
        norm_cfg: dict | None = None,
        norm_eval: bool = False,
        zero_init_residual: bool = False,
        with_cp: bool = False,
        style: str | None = None,
        deep_stem: bool | None = None,
        avg_down: bool | None = None,
        pretrained: str | None = None,
        init_cfg: dict | list | None = None,
    ):
        super().__init__(init_cfg=init_cfg_with_pretrained(pretrained, init_cfg))
        if depth not in self.arch_settings:
            raise UnknownDepthError(
                f'ResNet: unsupported depth {depth!r}; expected one of {", ".join(map(str, self.arch_settings))}'
            )
        if not 1 <= num_stages <= 4:
            raise BackboneArgError(f'ResNet: num_stages={num_stages!r} must be in 1..4')
        if len(strides) < num_stages or len(dilations) < num_stages:
            raise BackboneArgError(
                f'ResNet: strides {tuple(strides)} and dilations {tuple(dilations)} need one entry per '
                f'stage (num_stages={num_stages})'
            )
        self.depth, self.in_channels, self.base_channels = depth, in_channels, base_channels
        self.variant = resolve_variant(variant, style, deep_stem, avg_down)
        spec = VARIANTS[self.variant]
        block, stage_blocks = self.arch_settings[depth]
        if spec.stride_in_1x1 and block is BasicBlock:
            raise BackboneArgError(
                f'ResNet-{depth}: variant a differs from b only in bottleneck blocks (depth 26, 50, '
                f'101, 152); ResNet-{depth} has basic blocks, where a would be b: use variant b'
            )
        block_kwargs = dict(stride_in_1x1=True) if spec.stride_in_1x1 else {}
        self.out_indices = normalise_out_indices(out_indices, num_stages)
        self.frozen_stages = check_frozen_stages(frozen_stages, num_stages)
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual
        norm_cfg = norm_cfg or dict(type='BN', requires_grad=True)
        self.stem_channels = stem_channels = stem_channels or base_channels

        if spec.deep_stem:
            self.stem = make_deep_stem(in_channels, stem_channels, norm_cfg, stem_stride)
        else:
            self.conv1 = nn.Conv2d(in_channels, stem_channels, 7, stride=stem_stride, padding=3, bias=False)
            self.bn1 = build_norm(norm_cfg, stem_channels)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1) if stem_pool else nn.Identity()

        channels_in = stem_channels
        self.res_layers = []
        stage_out_channels = []
        for i in range(num_stages):
            dilation = dilations[i]
            first_dilation = dilation // 2 if contract_dilation and dilation > 1 else dilation
            channels = base_channels * 2**i
            channels_out = channels * block.expansion
            downsample = None
            if strides[i] != 1 or channels_in != channels_out:
                downsample = make_shortcut(channels_in, channels_out, strides[i], spec.avg_down, norm_cfg)
            blocks = [
                block(channels_in, channels, strides[i], first_dilation, downsample, norm_cfg, with_cp, **block_kwargs)
            ]
            blocks += [
                block(channels_out, channels, 1, dilation, None, norm_cfg, with_cp, **block_kwargs)
                for _ in range(1, stage_blocks[i])
            ]
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.res_layers.append(name)
            stage_out_channels.append(channels_out)
            channels_in = channels_out
        self.out_channels = tuple(stage_out_channels[i] for i in self.out_indices)
        reduction, stage_strides = stem_stride * (2 if stem_pool else 1), []
        for stride in strides[:num_stages]:
            reduction *= stride
            stage_strides.append(reduction)
        self.out_strides = tuple(stage_strides[i] for i in self.out_indices)

        self._init_default_weights()
        self._freeze_stages()

    def _init_default_weights(self) -> None:
        """He (MSRA) init for convs as in GluonCV and torchvision; norm γ = 1, β = 0; zero-γ if asked."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, (_BatchNorm, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.zero_init_residual:
            for m in self.modules():
                if isinstance(m, ResidualBlock):
                    nn.init.zeros_(m.last_norm.weight)

    def arch_config(self) -> dict:
        """The keys that say what the weights mean (see `backbones.contract`)."""
        return dict(
            type='tricks.ResNet',
            depth=self.depth,
            variant=self.variant,
            in_channels=self.in_channels,
            base_channels=self.base_channels,
            stem_channels=self.stem_channels,
        )

    def trick_card(self) -> dict:
        return dict(config=self.arch_config(), zero_gamma=self.zero_init_residual)

    @property
    def norm1(self) -> nn.Module:
        """mmdet's name of the 7×7 stem's norm (variants a, b)."""
        return self.bn1

    def _stem_modules(self) -> list[nn.Module]:
        return [self.stem] if hasattr(self, 'stem') else [self.conv1, self.bn1]

    def _freeze_stages(self) -> None:
        frozen = self._stem_modules() if self.frozen_stages >= 0 else []
        freeze(frozen + [getattr(self, name) for name in self.res_layers[: max(self.frozen_stages, 0)]])

    def train(self, mode: bool = True) -> 'ResNet':
        """Keep frozen stages (and, with norm_eval, every BatchNorm) in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            eval_batch_norms(self)
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.stem(x) if hasattr(self, 'stem') else self.relu(self.bn1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


@MODELS.register_module()
class ResNetV1c(ResNet):
    """mmseg's and mmdet's name for variant c, so that their configs' `type='ResNetV1c'` maps one-to-one."""

    def __init__(self, **kwargs):
        super().__init__(**{'variant': 'c', **kwargs})


@MODELS.register_module()
class ResNetV1d(ResNet):
    """mmseg's and mmdet's name for variant d."""

    def __init__(self, **kwargs):
        super().__init__(**{'variant': 'd', **kwargs})
