# Table 8, "+ distill w/ mixup": ImageNet top-1 79.29 -> paper mAP 81.33 (Faster R-CNN, VOC07+12 trainval -> VOC07 test).
# The stock mmdet config, unchanged but for the backbone of configs/cls/imagenet/resnet50d_cosine_ls_distill_mixup.py
# (tools/export_backbone.py work_dirs/cls/imagenet/resnet50d_cosine_ls_distill_mixup/epoch_N.pth work_dirs/cls/imagenet/resnet50d_cosine_ls_distill_mixup).
_base_ = '../_base_/voc0712.py'  # the stock mmdet config; data_root = 'data/VOCdevkit/'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50d_cosine_ls_distill_mixup/backbone.pth'
model = dict(backbone=dict(type='tricks.ResNet', variant='d',
                           init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
