# Table 5: the efficient recipe on the original ResNet (stride in the first 1×1 of the downsampling block).
_base_ = './resnet18b_efficient.py'
model = dict(backbone=dict(variant='a'))
