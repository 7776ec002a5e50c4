# Table 9, B-standard: ResNet-18-B from configs/cls/demo/resnet18b_standard.py.
# A child's new `backbone_checkpoint` does not reach the dict the base already resolved: restate init_cfg.checkpoint.
_base_ = '../_base_/demo.py'
backbone_checkpoint = 'work_dirs/cls/demo/resnet18b_standard/backbone.pth'
model = dict(backbone=dict(variant='b', init_cfg=dict(checkpoint=backbone_checkpoint)))
