# Table 5: the efficient recipe on the original ResNet (stride in the first 1×1 conv of the downsampling block).
# ResNet-26 (bottleneck blocks, 2 per stage) is the smallest depth at which A, B, C and D are four networks.
_base_ = './resnet18b_efficient.py'
model = dict(backbone=dict(depth=26, variant='a'))
