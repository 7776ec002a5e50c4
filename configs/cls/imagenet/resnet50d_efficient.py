# Table 5: the efficient recipe on ResNet-D, avg-pool shortcut. Table 5: 77.16.
_base_ = './resnet50b_efficient.py'
model = dict(backbone=dict(variant='d'))
