"""Detection-only pieces: they need mmdet; configs import them with `custom_imports=dict(imports=['det'])`.
- `tricks.VOCDataset`: mmdet's VOC dataset, read with checks (voc_dataset.py);
- `tricks.VOCMetric`: mmdet's VOC metric, naming the dataset's own classes (voc_metric.py)."""

from .voc_dataset import VOCDataset, VOCFormatError
from .voc_metric import VOCMetric

__all__ = ['VOCDataset', 'VOCFormatError', 'VOCMetric']
