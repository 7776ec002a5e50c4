"""Backbones of the suite. Importing this package registers them in the `tricks` scope and makes the safe loader
mmengine's loader for local checkpoint files (`use_safe_loader`): from then on no checkpoint that mmengine opens in
this process (resume, load_from, init_cfg=Pretrained) can run code."""

from . import exported  # noqa: F401  (registers tricks.ExportedBackbone)
from .checkpoint import use_safe_loader
from .nfnet import NFNet
from .presets import PRESETS, build_backbone
from .registry import MODELS, SCOPE
from .resnet import ResNet, ResNetV1c, ResNetV1d
from .resnet9 import ResNet9

use_safe_loader()

__all__ = [
    'MODELS',
    'PRESETS',
    'SCOPE',
    'NFNet',
    'ResNet',
    'ResNet9',
    'ResNetV1c',
    'ResNetV1d',
    'build_backbone',
    'use_safe_loader',
]
