"""Detection-only pieces: they need mmdet; configs import them with `custom_imports=dict(imports=['det'])`."""

from .voc_metric import VOCMetric

__all__ = ['VOCMetric']
