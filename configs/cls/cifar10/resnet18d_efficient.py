# Table 5 on CIFAR-10: the efficient recipe on ResNet-D.
_base_ = './resnet18b_efficient.py'
model = dict(backbone=dict(variant='d'))
