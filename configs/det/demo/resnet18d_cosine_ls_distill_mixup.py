# Table 8, "+ distill w/ mixup": the backbone exported from configs/cls/demo/resnet18d_cosine_ls_distill_mixup.py.
_base_ = '../_base_/demo.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/demo/resnet18d_cosine_ls_distill_mixup/backbone.pth'))
