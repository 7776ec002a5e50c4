# Table 8, "+ mixup w/o distill": ImageNet top-1 79.16 -> paper mAP 81.10 (Faster R-CNN, VOC07+12 trainval -> VOC07 test).
# The stock mmdet config, unchanged but for the backbone of configs/cls/imagenet/resnet50d_cosine_ls_mixup.py
# (tools/export_backbone.py work_dirs/cls/imagenet/resnet50d_cosine_ls_mixup/epoch_N.pth work_dirs/cls/imagenet/resnet50d_cosine_ls_mixup).
_base_ = '../_base_/voc0712.py'  # the stock mmdet config; data_root = 'data/VOCdevkit/'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50d_cosine_ls_mixup/backbone.pth'
model = dict(backbone=dict(type='tricks.ResNet', variant='d',
                           init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
