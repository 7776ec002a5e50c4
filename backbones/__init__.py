"""Backbones of the suite. Importing this package registers them in the `tricks` scope."""
from . import checkpoint, weights_check  # noqa: F401  (hooks, and the safe loader for local files)
from .nfnet import NFNet
from .presets import PRESETS, build_backbone
from .registry import MODELS, SCOPE
from .resnet import ResNet, ResNetV1c, ResNetV1d

__all__ = ['MODELS', 'PRESETS', 'SCOPE', 'NFNet', 'ResNet', 'ResNetV1c', 'ResNetV1d', 'build_backbone']
