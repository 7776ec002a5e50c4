# The distillation teacher (paper: ResNet-152-D with cosine + label smoothing), at demo scale: a deeper D net.
_base_ = './resnet18d_cosine_ls.py'
model = dict(backbone=dict(depth=50))
