# Table 9, D-ResNet (efficient recipe, top-1 77.16): paper pixAcc 78.88, mIoU 38.88.
_base_ = '../_base_/ade20k.py'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50d_efficient/backbone.pth'
model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
