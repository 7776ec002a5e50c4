"""Backbones of the suite. Importing this package registers them in the `tricks` scope."""
from . import checkpoint  # noqa: F401  (registers the checkpoint hooks and the safe local loader)
from .nfnet import NFNet
from .registry import MODELS, SCOPE
from .resnet import ResNet

__all__ = ['MODELS', 'SCOPE', 'NFNet', 'ResNet']
