# Table 5 → Table 6's starting point: the efficient recipe on ResNet-D.
_base_ = './resnet18b_efficient.py'
model = dict(backbone=dict(variant='d'))
