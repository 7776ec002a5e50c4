"""Detection-only pieces (they need mmdet; configs import them with `custom_imports=dict(imports=['backbones', 'det'])`).
"""
from .voc_metric import VOCMetric

__all__ = ['VOCMetric']
