"""mmdet's VOCMetric, with the dataset's own class names in its per-class table."""

from mmdet.evaluation import VOCMetric as MMDetVOCMetric
from mmdet.evaluation.functional import get_classes

from backbones.registry import METRICS


@METRICS.register_module()
class VOCMetric(MMDetVOCMetric):
    """`tricks.VOCMetric`: the same AP as mmdet's. mmdet prints Pascal VOC's 20 class names for any VOC-format set whose
    folder is called VOC2007/VOC2012, whatever classes it has; this one names the dataset's classes instead."""

    def compute_metrics(self, results: list) -> dict:
        meta = self.dataset_meta
        if meta.get('dataset_type') in ('VOC2007', 'VOC2012') and tuple(meta['classes']) != tuple(get_classes('voc')):
            self.dataset_meta = {**meta, 'dataset_type': None}  # → mmdet names the rows by dataset_meta['classes']
            try:
                return super().compute_metrics(results)
            finally:
                self.dataset_meta = meta
        return super().compute_metrics(results)
