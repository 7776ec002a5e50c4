"""Stock mmdet / mmseg configs train with our backbones, swapped in through the config alone.

Each case writes a tiny config that inherits a stock file (`mmdet::...` / `mmseg::...`) and adds only
`custom_imports = dict(imports=['backbones'], ...)`, a `model.backbone` naming `tricks.ResNet` / `tricks.NFNet`, and
what a CPU run without downloads needs. It loads it with `Config.fromfile`, builds the model through the toolkit's own
registry, checks that the inherited keys reached our class, and runs one real `train_step` (plain SGD) on a tiny random
batch: the losses must be finite and the step must move the backbone's parameters.

mmdet and mmseg are imported by this module only, never by `backbones` (checked in a clean interpreter at the end).
"""

import importlib
import math
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.structures import InstanceData, PixelData
from toolkits import build_in_toolkit
from torch.nn.modules.batchnorm import _BatchNorm

import backbones

SIZE = 64  # px; FCN-D8 gives 8x8 features, Faster R-CNN's FPN still has a 1x1 P6 (stride 64)
BATCH = 2
IGNORE_INDEX = 255  # mmseg's ignore index (and the preprocessor's seg_pad_val)

# Noise of the stock FCN config's loss (mmseg's own deprecations), not of our backbones.
pytestmark = [
    pytest.mark.usefixtures('one_thread'),
    pytest.mark.filterwarnings(
        'ignore:``build_loss`` would be deprecated:UserWarning',
        'ignore:Default ``avg_non_ignore`` is False:UserWarning',
    ),
]

HEADER = """\
_base_ = {base!r}
custom_imports = dict(imports=['backbones'], allow_failed_imports=False)
"""

DET_BODY = """\
model = dict(backbone={backbone})
"""

# What a CPU user adds to the FCN base:
# - SyncBN -> BN on the backbone and both heads. The base sets them through a variable resolved inside the base file,
#   so redefining `norm_cfg` here alone changes nothing; each of the three dicts has to say it.
# - pretrained=None: the segmentor passes its 'open-mmlab://resnet50_v1c' down to the backbone as `pretrained=`, and
#   it cannot be downloaded.
# - the data preprocessor pads every image to the crop size (512 px in the base): the crop size of these images.
SEG_BODY = """\
norm_cfg = dict(type='BN', requires_grad=True)
crop_size = ({size}, {size})
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone={backbone},
    decode_head=dict(norm_cfg=norm_cfg),
    auxiliary_head=dict(norm_cfg=norm_cfg))
"""


# --------------------------------------------------------------------------------------------------------------------
# The two toolkits: stock base, config body, model type, ground truth, losses


def add_boxes(sample, generator: torch.Generator, num_boxes: int = 2, num_classes: int = 20) -> None:
    """Random VOC-class boxes, a quarter to a half of the image side, inside the image."""
    wh = torch.randint(SIZE // 4, SIZE // 2 + 1, (num_boxes, 2), generator=generator).float()
    xy = (torch.rand(num_boxes, 2, generator=generator) * (SIZE - wh)).floor()
    sample.gt_instances = InstanceData(
        bboxes=torch.cat([xy, xy + wh], dim=1), labels=torch.randint(0, num_classes, (num_boxes,), generator=generator)
    )


def add_label_map(sample, generator: torch.Generator, num_classes: int = 150) -> None:
    """A random ADE20K label map whose top rows are IGNORE_INDEX."""
    labels = torch.randint(0, num_classes, (1, SIZE, SIZE), generator=generator)
    labels[:, : SIZE // 8] = IGNORE_INDEX
    sample.gt_sem_seg = PixelData(data=labels)


@dataclass(frozen=True)
class Toolkit:
    package: str  # 'mmdet' or 'mmseg'
    base: str  # the stock config the test config inherits
    body: str  # config text after HEADER; {backbone} and {size} are filled in
    model_type: str  # what the stock config builds
    sample_class: str  # <package>.structures.<sample_class>
    add_targets: Callable  # (data sample, generator) -> None: adds the ground truth
    losses: tuple  # loss keys the step must log (besides 'loss')

    def data_sample(self, **metainfo):
        return getattr(importlib.import_module(f'{self.package}.structures'), self.sample_class)(metainfo=metainfo)


DET = Toolkit(
    'mmdet',
    'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py',
    DET_BODY,
    'FasterRCNN',
    'DetDataSample',
    add_boxes,
    ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'),
)
SEG = Toolkit(
    'mmseg',
    'mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py',
    SEG_BODY,
    'EncoderDecoder',
    'SegDataSample',
    add_label_map,
    ('decode.loss_ce', 'aux.loss_ce'),
)


# --------------------------------------------------------------------------------------------------------------------
# Shared helpers


def load_config(tmp_path: Path, toolkit: Toolkit, backbone: str) -> Config:
    """Write the case's config next to nothing but its stock base and load it as the tools do."""
    path = tmp_path / f'{toolkit.package}_config.py'
    path.write_text(HEADER.format(base=toolkit.base) + toolkit.body.format(backbone=backbone, size=SIZE))
    return Config.fromfile(str(path))


def build_model(cfg: Config, toolkit: Toolkit) -> nn.Module:
    """Build `cfg.model` through the toolkit's registry, under the config's default scope (as its Runner would)."""
    return build_in_toolkit(toolkit.package, cfg.model)


def tiny_batch(toolkit: Toolkit, generator: torch.Generator) -> dict:
    """BATCH random uint8 CHW images, each with the metainfo a loading pipeline gives and the toolkit's ground truth:
    the `data` that the toolkit's data preprocessor expects from a dataloader."""
    inputs, samples = [], []
    for i in range(BATCH):
        inputs.append(torch.randint(0, 256, (3, SIZE, SIZE), dtype=torch.uint8, generator=generator))
        sample = toolkit.data_sample(
            img_id=i,
            img_path=f'tiny_{i}.jpg',
            ori_shape=(SIZE, SIZE),
            img_shape=(SIZE, SIZE),
            pad_shape=(SIZE, SIZE),
            scale_factor=(1.0, 1.0),
            flip=False,
            flip_direction=None,
        )
        toolkit.add_targets(sample, generator)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def train_one_step(model: nn.Module, data: dict) -> tuple[dict, list, dict]:
    """One `model.train_step` with plain SGD: no momentum and no weight decay, so a parameter moves if and only if its
    gradient is non-zero. Returns the logged losses (as floats), the shapes the backbone returned, and the backbone's
    parameters before the step."""
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optim_wrapper = OptimWrapper(torch.optim.SGD(params, lr=0.01, momentum=0.0, weight_decay=0.0))
    before = {name: p.detach().clone() for name, p in model.backbone.named_parameters()}
    shapes = []
    hook = model.backbone.register_forward_hook(lambda module, args, outs: shapes.extend(o.shape for o in outs))
    try:
        log_vars = model.train_step(data, optim_wrapper)
    finally:
        hook.remove()
    return {k: float(torch.as_tensor(v).detach()) for k, v in log_vars.items()}, shapes, before


def backbone_part(name: str) -> str:
    """Parameter name -> the part of the backbone it belongs to: 'stem', 'layer1'..'layer4' (ResNet), 'stages.0'..
    'stages.3', 'final_conv' (NFNet)."""
    head, *rest = name.split('.')
    if head in ('conv1', 'bn1'):  # variants a/b: the 7x7 stem
        return 'stem'
    return f'{head}.{rest[0]}' if head == 'stages' else head


# --------------------------------------------------------------------------------------------------------------------
# Structural checks of what the inherited keys and the variant mean (run on the model after the step, in train mode)


def resnet_b(backbone):
    assert backbone.variant == 'b' and not hasattr(backbone, 'stem') and backbone.conv1.kernel_size == (7, 7)
    block = backbone.layer2[0]  # the stride sits in the 3x3, the shortcut is a strided 1x1 conv
    assert (block.conv1.stride, block.conv2.stride, block.downsample[0].stride) == ((1, 1), (2, 2), (2, 2))


def resnet_d(backbone):
    assert backbone.variant == 'd'
    assert [m.kernel_size for m in backbone.stem if isinstance(m, nn.Conv2d)] == [(3, 3)] * 3  # deep stem
    shortcut = backbone.layer2[0].downsample  # 2x2 average pool, then a stride-1 1x1 conv
    assert isinstance(shortcut[0], nn.AvgPool2d) and shortcut[1].stride == (1, 1)


def norm_eval(backbone):
    """Faster R-CNN's base: norm_eval=True keeps every BN of the backbone in eval mode while the model trains."""
    bns = [m for m in backbone.modules() if isinstance(m, _BatchNorm)]
    assert bns and not any(m.training for m in bns)


def dilated_d8(backbone):
    """FCN's base: strides (1, 2, 1, 1), dilations (1, 1, 2, 4), contract_dilation (first block at half dilation)."""
    assert [getattr(backbone, f'layer{i}')[0].conv2.stride[0] for i in (1, 2, 3, 4)] == [1, 2, 1, 1]
    assert [b.conv2.dilation[0] for b in backbone.layer3] == [1, 2, 2, 2, 2, 2]
    assert [b.conv2.dilation[0] for b in backbone.layer4] == [2, 4, 4]
    assert all(m.training for m in backbone.modules() if isinstance(m, _BatchNorm))  # norm_eval=False


@dataclass
class Case:
    toolkit: Toolkit
    backbone: str  # the config's backbone dict, as config text
    cls: type  # the class cfg.model.backbone must build
    reductions: tuple  # input size / output size of each backbone output
    inherited: dict = field(default_factory=dict)  # backbone settings the config takes from the stock base
    frozen: tuple = ()  # parts (see backbone_part) frozen by the base's frozen_stages
    checks: tuple = ()  # structural checks of the built backbone
    every_param_moves: bool = True  # False for NF-nets: see test_stock_config_trains_with_our_backbone


DET_RESNET_KEYS = dict(depth=50, out_indices=(0, 1, 2, 3), frozen_stages=1, norm_eval=True)
# fmt: off
CASES = [
    pytest.param(Case(DET, "dict(type='tricks.ResNet', variant='b', init_cfg=None)", backbones.ResNet,
                      (4, 8, 16, 32), inherited=DET_RESNET_KEYS,
                      frozen=('stem', 'layer1'), checks=(resnet_b, norm_eval)),
                 id='faster_rcnn-resnet50b'),
    pytest.param(Case(DET, "dict(type='tricks.ResNet', variant='d', init_cfg=None)", backbones.ResNet,
                      (4, 8, 16, 32), inherited=DET_RESNET_KEYS,
                      frozen=('stem', 'layer1'), checks=(resnet_d, norm_eval)),
                 id='faster_rcnn-resnet50d'),
    # Another class: `_delete_` drops the base's ResNet-only keys (depth, style, norm_eval, frozen_stages, ...).
    pytest.param(Case(DET, "dict(_delete_=True, type='tricks.NFNet', arch='nf_resnet50', init_cfg=None)",
                      backbones.NFNet, (4, 8, 16, 32), every_param_moves=False),
                 id='faster_rcnn-nf_resnet50'),
    pytest.param(Case(SEG, "dict(type='tricks.ResNet', variant='d', norm_cfg=norm_cfg)", backbones.ResNet,
                      (4, 8, 8, 8), inherited=dict(depth=50, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                                     contract_dilation=True, norm_eval=False),
                      checks=(resnet_d, dilated_d8)),
                 id='fcn-resnet50d_d8'),
    pytest.param(Case(SEG, "dict(_delete_=True, type='tricks.NFNet', arch='nf_resnet50', output_stride=8)",
                      backbones.NFNet, (4, 8, 8, 8), every_param_moves=False),
                 id='fcn-nf_resnet50_os8'),
]
# fmt: on


# --------------------------------------------------------------------------------------------------------------------
# Tests


@pytest.mark.parametrize('case', CASES)
def test_stock_config_trains_with_our_backbone(case: Case, tmp_path: Path):
    toolkit = case.toolkit
    torch.manual_seed(0)
    cfg = load_config(tmp_path, toolkit, case.backbone)

    # The config: our type over the stock base, whose other backbone keys are inherited.
    assert cfg.model.type == toolkit.model_type
    assert cfg.model.backbone.type == f'tricks.{case.cls.__name__}'
    assert {key: cfg.model.backbone.get(key) for key in case.inherited} == case.inherited

    model = build_model(cfg, toolkit)
    backbone = model.backbone
    assert isinstance(backbone, case.cls)
    for key, value in case.inherited.items():  # those the backbone keeps as attributes (the others: case.checks)
        assert getattr(backbone, key, value) == value, key
    if toolkit is DET:  # the stock FPN, unchanged, fits our stage channels
        assert list(model.neck.in_channels) == list(backbone.out_channels) == [256, 512, 1024, 2048]
    else:  # the stock heads read stages 4 and 3
        assert backbone.out_channels[model.decode_head.in_index] == model.decode_head.in_channels == 2048
        assert backbone.out_channels[model.auxiliary_head.in_index] == model.auxiliary_head.in_channels == 1024
        assert not any(isinstance(m, nn.SyncBatchNorm) for m in model.modules()), 'SyncBN left in a CPU model'

    losses, shapes, before = train_one_step(model, tiny_batch(toolkit, torch.Generator().manual_seed(0)))

    # The toolkit's full set of losses, all finite.
    assert set(toolkit.losses) | {'loss'} <= set(losses), sorted(losses)
    assert all(math.isfinite(v) for v in losses.values()), losses
    assert losses['loss'] > 0

    # One output per stage at the expected strides (output stride 8 for FCN's D8).
    assert [tuple(s) for s in shapes] == [
        (BATCH, c, SIZE // r, SIZE // r) for c, r in zip(backbone.out_channels, case.reductions)
    ]
    for check in case.checks:
        check(backbone)

    # The gradient reached the backbone: frozen parameters are exactly the base's frozen stages and did not move;
    # every trainable part moved, down to the first. In a ResNet every trainable parameter moves. In timm's NF-nets
    # each residual branch ends in a conv whose gain starts at 0 (`gain_init=0.`), so the first step's gradient reaches
    # only those gains and biases, the shortcut convs, the stem and the final conv, not the branches' other weights.
    params = dict(backbone.named_parameters())
    moved = {name for name, p in params.items() if not torch.equal(p.detach(), before[name])}
    trainable = {name for name, p in params.items() if p.requires_grad}
    assert {backbone_part(n) for n in set(params) - trainable} == set(case.frozen)
    assert moved <= trainable, sorted(moved - trainable)[:5]
    assert {backbone_part(n) for n in moved} == {backbone_part(n) for n in trainable}
    if case.every_param_moves:
        assert moved == trainable, sorted(trainable - moved)[:5]


def test_backbones_cls_and_engine_import_without_mmcv_mmdet_mmseg():
    code = (
        'import sys, backbones, cls, engine.cli, engine.hooks, engine.tasks; '
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('mmcv', 'mmdet', 'mmseg')); "
        'assert not loaded, loaded'
    )
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
