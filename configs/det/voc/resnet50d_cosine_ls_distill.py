# Table 8, "+ distill w/o mixup" (ImageNet top-1 78.67): paper mAP 80.96. The stock Faster R-CNN (../_base_/voc0712.py) on the
# backbone exported from configs/cls/imagenet/resnet50d_cosine_ls_distill.py.
_base_ = '../_base_/voc0712.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50d_cosine_ls_distill/backbone.pth'))
