# The distillation teacher (§5.3): ResNet-152-D with cosine + label smoothing (GluonCV ResNet152_v1d: 80.26).
_base_ = './resnet50d_cosine_ls.py'
model = dict(backbone=dict(depth=152))
