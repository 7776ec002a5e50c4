# Table 5: the efficient recipe on ResNet-D (C with a 2×2 average pool before the shortcut's 1×1 conv).
# ResNet-26 (bottleneck blocks, 2 per stage) is the smallest depth at which A, B, C and D are four networks.
_base_ = './resnet18b_efficient.py'
model = dict(backbone=dict(depth=26, variant='d'))
