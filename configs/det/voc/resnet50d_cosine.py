# Table 8, "+ cosine" (ImageNet top-1 77.91): paper mAP 79.23. The stock Faster R-CNN (../_base_/voc0712.py) on the
# backbone exported from configs/cls/imagenet/resnet50d_cosine.py.
_base_ = '../_base_/voc0712.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50d_cosine/backbone.pth'))
