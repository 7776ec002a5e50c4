# Table 8, "B-standard": the backbone of configs/cls/demo/resnet18b_standard.py.
_base_ = '../_base_/demo.py'
backbone_checkpoint = 'work_dirs/cls/demo/resnet18b_standard/backbone.pth'
# The base resolved its init_cfg at load time: a new checkpoint restates it.
model = dict(backbone=dict(variant='b', init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
