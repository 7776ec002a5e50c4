# Table 8, "B-standard": ImageNet top-1 76.14 -> paper mAP 77.54 (Faster R-CNN, VOC07+12 trainval -> VOC07 test).
# The stock mmdet config, unchanged but for the backbone of configs/cls/imagenet/resnet50b_standard.py
# (tools/export_backbone.py work_dirs/cls/imagenet/resnet50b_standard/epoch_N.pth work_dirs/cls/imagenet/resnet50b_standard).
_base_ = '../_base_/voc0712.py'  # the stock mmdet config; data_root = 'data/VOCdevkit/'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50b_standard/backbone.pth'
model = dict(backbone=dict(type='tricks.ResNet', variant='b',
                           init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
