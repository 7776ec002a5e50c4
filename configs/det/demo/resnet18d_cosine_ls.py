# Table 8, "+ label smoothing": the backbone of configs/cls/demo/resnet18d_cosine_ls.py (D, warmup, zero-γ,
# no bias decay, cosine, label smoothing).
_base_ = '../_base_/demo.py'
backbone_checkpoint = 'work_dirs/cls/demo/resnet18d_cosine_ls/backbone.pth'
# The base resolved its init_cfg at load time: a new checkpoint restates it.
model = dict(backbone=dict(variant='d', init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
