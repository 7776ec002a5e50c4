"""The published sizes of the full-scale data sets the paper's ladder trains on: what a preflight checks a data root
against (tools/preflight.py) and what a cost plan counts images with before the data is at hand."""

from dataclasses import dataclass


@dataclass(frozen=True)
class StandardSet:
    name: str
    splits: dict[str, int]  # split → images
    classes: int  # for ADE20K: the labelled classes (labels 1..150, 0 = other)


IMAGENET = StandardSet('ImageNet-1k (ILSVRC 2012)', {'train': 1_281_167, 'val': 50_000}, classes=1000)
# VOC07+12 trainval = VOC2007 trainval 5,011 + VOC2012 trainval 11,540; the test split is VOC2007's.
VOC0712 = StandardSet(
    'Pascal VOC 2007 + 2012',
    {'VOC2007/trainval': 5_011, 'VOC2012/trainval': 11_540, 'trainval': 16_551, 'VOC2007/test': 4_952},
    classes=20,
)
ADE20K = StandardSet('ADE20K (ADEChallengeData2016)', {'training': 20_210, 'validation': 2_000}, classes=150)
