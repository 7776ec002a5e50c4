# Table 5: ResNet-C, the deep 3×3 stem.
_base_ = './resnet18b_efficient.py'
model = dict(backbone=dict(variant='c'))
