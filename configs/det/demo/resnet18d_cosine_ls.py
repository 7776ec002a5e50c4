# Table 8, "+ label smoothing": the backbone exported from configs/cls/demo/resnet18d_cosine_ls.py.
_base_ = '../_base_/demo.py'
model = dict(backbone=dict(checkpoint='work_dirs/cls/demo/resnet18d_cosine_ls/backbone.pth'))
