# Table 8, "+ cosine": ImageNet top-1 77.91 -> paper mAP 79.23 (Faster R-CNN, VOC07+12 trainval -> VOC07 test).
# The stock mmdet config, unchanged but for the backbone of configs/cls/imagenet/resnet50d_cosine.py
# (tools/export_backbone.py work_dirs/cls/imagenet/resnet50d_cosine/epoch_N.pth work_dirs/cls/imagenet/resnet50d_cosine).
_base_ = '../_base_/voc0712.py'  # the stock mmdet config; data_root = 'data/VOCdevkit/'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50d_cosine/backbone.pth'
model = dict(backbone=dict(type='tricks.ResNet', variant='d',
                           init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
