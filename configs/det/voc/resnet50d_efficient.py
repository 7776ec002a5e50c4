# Table 8, "D-ResNet" (ImageNet top-1 77.16): paper mAP 78.3. The stock Faster R-CNN (../_base_/voc0712.py) on the
# backbone exported from configs/cls/imagenet/resnet50d_efficient.py.
_base_ = '../_base_/voc0712.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/imagenet/resnet50d_efficient/backbone.pth'))
