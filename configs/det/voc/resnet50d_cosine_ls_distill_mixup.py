# Table 8, "+ distill w/ mixup" (ImageNet top-1 79.29): paper mAP 81.33. The stock Faster R-CNN (../_base_/voc0712.py) on the
# backbone exported from configs/cls/imagenet/resnet50d_cosine_ls_distill_mixup.py.
_base_ = '../_base_/voc0712.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50d_cosine_ls_distill_mixup/backbone.pth'))
