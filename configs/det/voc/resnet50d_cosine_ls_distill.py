# Table 8, "+ distill w/o mixup": ImageNet top-1 78.67 -> paper mAP 80.96 (Faster R-CNN, VOC07+12 trainval -> VOC07 test).
# The stock mmdet config, unchanged but for the backbone of configs/cls/imagenet/resnet50d_cosine_ls_distill.py
# (tools/export_backbone.py work_dirs/cls/imagenet/resnet50d_cosine_ls_distill/epoch_N.pth work_dirs/cls/imagenet/resnet50d_cosine_ls_distill).
_base_ = '../_base_/voc0712.py'  # the stock mmdet config; data_root = 'data/VOCdevkit/'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50d_cosine_ls_distill/backbone.pth'
model = dict(backbone=dict(type='tricks.ResNet', variant='d',
                           init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
