# Table 5: the efficient recipe on ResNet-B (the stride moved to the 3×3 conv).
# ResNet-26 (bottleneck blocks, 2 per stage) is the smallest depth at which A, B, C and D are four networks.
_base_ = './resnet18b_efficient.py'
model = dict(backbone=dict(depth=26, variant='b'))
