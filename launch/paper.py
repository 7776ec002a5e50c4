"""The paper's transfer numbers (He et al. 2019, Tables 8 and 9; shared/reference/paper.md), set beside ours.

Row names are the paper's; a ladder row names the one it stands for with `paper='...'`.
"""
# row: (ImageNet top-1, VOC07 mAP) — Faster R-CNN, VOC07+12 trainval → VOC07 test
TABLE8 = {
    'B-standard': (76.14, 77.54),
    'D-ResNet': (77.16, 78.30),
    '+ cosine': (77.91, 79.23),
    '+ label smoothing': (78.34, 80.71),
    '+ distill w/o mixup': (78.67, 80.96),
    '+ mixup w/o distill': (79.16, 81.10),
    '+ distill w/ mixup': (79.29, 81.33),
}
# row: (ImageNet top-1, pixel accuracy, mIoU) — FCN, ADE20K
TABLE9 = {
    'B-standard': (76.14, 78.08, 37.05),
    'D-ResNet': (77.16, 78.88, 38.88),
    '+ cosine': (77.91, 79.25, 39.33),
    '+ label smoothing': (78.34, 78.64, 38.75),
    '+ distill w/o mixup': (78.67, 78.97, 38.90),
    '+ mixup w/o distill': (79.16, 78.47, 37.99),
    '+ distill w/ mixup': (79.29, 78.72, 38.40),
}
