# Control: the same detector with a randomly initialised backbone (ResNet-18-D, quarter width), no pretraining.
# The frozen stem and layer1 (frozen_stages=1) stay at their random init, as a pretrained one stays at its weights.
_base_ = '../_base_/demo.py'
backbone_checkpoint = None
model = dict(backbone=dict(init_cfg=None))
