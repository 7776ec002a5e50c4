"""Detection-only pieces: they need mmdet; configs import them with `custom_imports=dict(imports=['det'])`.
- `tricks.VOCDataset`: mmdet's VOC dataset, read with checks (voc_dataset.py);
- `tricks.VOCMetric`: mmdet's VOC metric, naming the dataset's own classes (voc_metric.py);
- mmcv's nms and RoIAlign in float32 under a CPU's autocast, whose kernels take nothing else (cpu_amp.py)."""

from .cpu_amp import float32_ops_on_cpu
from .voc_dataset import VOCDataset, VOCFormatError
from .voc_metric import VOCMetric

float32_ops_on_cpu()

__all__ = ['VOCDataset', 'VOCFormatError', 'VOCMetric']
