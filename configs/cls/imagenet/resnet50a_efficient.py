# Table 5: the efficient recipe on the original ResNet (stride in the first 1×1). Table 5: 76.21.
_base_ = './resnet50b_efficient.py'
model = dict(backbone=dict(variant='a'))
