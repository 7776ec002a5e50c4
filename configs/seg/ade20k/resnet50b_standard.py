# Table 9, B-standard (ResNet-50-B, top-1 76.14): paper pixAcc 78.08, mIoU 37.05.
_base_ = '../_base_/ade20k.py'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50b_standard/backbone.pth'
model = dict(backbone=dict(variant='b', init_cfg=dict(checkpoint=backbone_checkpoint)))
