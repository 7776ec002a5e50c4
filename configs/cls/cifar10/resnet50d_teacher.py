# The distillation teacher at CIFAR scale: a deeper D net with cosine + label smoothing.
_base_ = './resnet18d_cosine_ls.py'
model = dict(backbone=dict(depth=50))
