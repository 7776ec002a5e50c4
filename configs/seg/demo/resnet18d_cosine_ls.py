# Table 9, + label smoothing: ResNet-18-D, efficient recipe + cosine + label smoothing
# (configs/cls/demo/resnet18d_cosine_ls.py).
# A child's new `backbone_checkpoint` does not reach the dict the base already resolved: restate init_cfg.checkpoint.
_base_ = '../_base_/demo.py'
backbone_checkpoint = 'work_dirs/cls/demo/resnet18d_cosine_ls/backbone.pth'
model = dict(backbone=dict(init_cfg=dict(checkpoint=backbone_checkpoint)))
