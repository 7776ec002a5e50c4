# Table 8, "+ distill w/ mixup": the backbone of configs/cls/demo/resnet18d_cosine_ls_distill_mixup.py.
_base_ = '../_base_/demo.py'
backbone_checkpoint = 'work_dirs/cls/demo/resnet18d_cosine_ls_distill_mixup/backbone.pth'
# The base resolved its init_cfg at load time: a new checkpoint restates it.
model = dict(backbone=dict(variant='d', init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
