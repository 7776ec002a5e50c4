# Table 8, "B-standard": the backbone exported from configs/cls/demo/resnet18b_standard.py.
_base_ = '../_base_/demo.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/demo/resnet18b_standard/backbone.pth'))
