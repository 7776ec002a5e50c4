# Table 8, "D-ResNet": ImageNet top-1 77.16 -> paper mAP 78.30 (Faster R-CNN, VOC07+12 trainval -> VOC07 test).
# The stock mmdet config, unchanged but for the backbone of configs/cls/imagenet/resnet50d_efficient.py
# (tools/export_backbone.py work_dirs/cls/imagenet/resnet50d_efficient/epoch_N.pth work_dirs/cls/imagenet/resnet50d_efficient).
_base_ = '../_base_/voc0712.py'  # the stock mmdet config; data_root = 'data/VOCdevkit/'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50d_efficient/backbone.pth'
model = dict(backbone=dict(type='tricks.ResNet', variant='d',
                           init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
