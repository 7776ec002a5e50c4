"""Normalizer-free nets (Brock et al. 2021) from timm, behind the same backbone conventions as `ResNet`.

timm's implementation is used as is (`nf_resnet50`, `nfnet_f0`…`f7`, `dm_nfnet_f0`…): this module only exposes its
stages as multi-scale outputs for FPN, freezes stages, and dilates the last stages for FCN (`output_stride=8`).
Parameter names are timm's, so timm checkpoints load with `init_cfg=dict(type='Pretrained', ...)`.
"""

from collections.abc import Sequence

import timm
import torch
from mmengine.model import BaseModule

from .contract import check_frozen_stages, freeze, init_cfg_with_pretrained, normalise_out_indices
from .errors import BackboneArgError
from .registry import MODELS


@MODELS.register_module()
class NFNet(BaseModule):
    """A timm NF-net returning the outputs of stages `out_indices` (strides 4, 8, 16, 32 at output_stride=32).

    The last stage's output includes the final 1×1 conv and activation (timm's `forward_features`), so a classifier
    that pools it reproduces timm's model.

    Args:
        arch: a timm NormFreeNet name, e.g. 'nf_resnet50', 'nfnet_f0', 'dm_nfnet_f0', 'nfnet_f1'.
        out_indices: stages whose outputs are returned (0..3, negative from the last).
        frozen_stages: freeze the stem (0) and stages 1..frozen_stages; -1 freezes nothing.
        output_stride: 32, 16 or 8 (8 = dilated last two stages, FCN's D8).
        drop_path_rate: stochastic depth (0.25 for NFNet-F0 in the NFNet paper).
        pretrained: mmdet's deprecated spelling of init_cfg=dict(type='Pretrained', ...).
    """

    def __init__(
        self,
        arch: str = 'nfnet_f0',
        out_indices: Sequence[int] = (0, 1, 2, 3),
        frozen_stages: int = -1,
        output_stride: int = 32,
        drop_path_rate: float = 0.0,
        pretrained: str | None = None,
        init_cfg: dict | list | None = None,
    ):
        super().__init__(init_cfg=init_cfg_with_pretrained(pretrained, init_cfg))
        if arch not in timm.list_models(module='nfnet'):
            raise BackboneArgError(
                f'NFNet: unknown arch {arch!r}; expected a timm NF-net such as nf_resnet50, nfnet_f0, dm_nfnet_f0'
            )
        if output_stride not in (8, 16, 32):
            raise BackboneArgError(f'NFNet: output_stride={output_stride!r} must be 8, 16 or 32')
        net = timm.create_model(
            arch, pretrained=False, num_classes=0, output_stride=output_stride, drop_path_rate=drop_path_rate
        )
        num_stages = len(net.stages)
        self.arch, self.drop_path_rate = arch, drop_path_rate
        self.out_indices = normalise_out_indices(out_indices, num_stages)
        self.frozen_stages = check_frozen_stages(frozen_stages, num_stages)
        self.stem, self.stages, self.final_conv, self.final_act = net.stem, net.stages, net.final_conv, net.final_act
        stage_channels = [info['num_chs'] for info in net.feature_info[1:]]
        self.out_channels = tuple(stage_channels[i] for i in self.out_indices)
        self.out_strides = tuple(net.feature_info[i + 1]['reduction'] for i in self.out_indices)
        self._freeze_stages()

    def arch_config(self) -> dict:
        """The keys that say what the weights mean (see `backbones.contract`)."""
        return dict(type='tricks.NFNet', arch=self.arch)

    def trick_card(self) -> dict:
        return dict(config=self.arch_config(), drop_path_rate=self.drop_path_rate)

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = [self.stem, *self.stages[: self.frozen_stages]]
        if self.frozen_stages == len(self.stages):
            frozen.append(self.final_conv)
        freeze(frozen)

    def train(self, mode: bool = True) -> 'NFNet':
        super().train(mode)
        self._freeze_stages()
        return self

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.stem(x)
        outs = []
        last = len(self.stages) - 1
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i == last:
                x = self.final_act(self.final_conv(x))
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
