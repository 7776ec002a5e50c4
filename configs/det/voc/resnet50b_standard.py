# Table 8, "B-standard" (ImageNet top-1 76.14): paper mAP 77.54. The stock Faster R-CNN (../_base_/voc0712.py) on the
# backbone exported from configs/cls/imagenet/resnet50b_standard.py.
_base_ = '../_base_/voc0712.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50b_standard/backbone.pth'))
