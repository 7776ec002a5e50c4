# Table 5: the efficient recipe on ResNet-C, three 3×3 stem convs. Table 5: 76.87.
_base_ = './resnet50b_efficient.py'
model = dict(backbone=dict(variant='c'))
