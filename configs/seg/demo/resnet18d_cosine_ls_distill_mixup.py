# Table 9, + distill w/ mixup: ResNet-18-D, cosine + label smoothing + distillation + mixup
# (configs/cls/demo/resnet18d_cosine_ls_distill_mixup.py).
# A child's new `backbone_checkpoint` does not reach the dict the base already resolved: restate init_cfg.checkpoint.
_base_ = '../_base_/demo.py'
backbone_checkpoint = 'work_dirs/cls/demo/resnet18d_cosine_ls_distill_mixup/backbone.pth'
model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
