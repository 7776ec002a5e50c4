# Table 8, "+ label smoothing" (ImageNet top-1 78.34): paper mAP 80.71. The stock Faster R-CNN (../_base_/voc0712.py) on the
# backbone exported from configs/cls/imagenet/resnet50d_cosine_ls.py.
_base_ = '../_base_/voc0712.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50d_cosine_ls/backbone.pth'))
