# Control: the same detector with a randomly initialised backbone, no pretraining: the demo's cls network (ResNet-18-D
# at a quarter width) named by hand, as no export carries it. The frozen stem and layer1 (frozen_stages=1) stay at
# their random init, as a pretrained one stays at its weights.
_base_ = '../_base_/demo.py'
model = dict(backbone=dict(_delete_=True, type='tricks.ResNet', depth=18, variant='d', base_channels=16,
                           out_indices=(0, 1, 2, 3), frozen_stages=1, norm_eval=True))
