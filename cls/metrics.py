"""Top-k accuracy for mmengine's evaluator."""

import torch
from mmengine.evaluator import BaseMetric

from backbones.registry import METRICS


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy in percent over the whole evaluation set, reported as `top1`, `top5`, …"""

    default_prefix = ''

    def __init__(self, topk: tuple[int, ...] = (1, 5), **kwargs):
        super().__init__(**kwargs)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            ranked = sample['scores'].argsort(descending=True)
            rank = (ranked == sample['label']).nonzero()[0, 0].item()
            self.results.append(rank)

    def compute_metrics(self, results: list) -> dict:
        ranks = torch.tensor(results)
        return {f'top{k}': (ranks < k).float().mean().item() * 100 for k in self.topk}
