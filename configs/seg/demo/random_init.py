# Control: the same FCN with a randomly initialised backbone, no pretraining: the demo's cls network (ResNet-18-D at
# a quarter width) named by hand, as no export carries it, with the base's D8 keys (the weights check has nothing to
# compare and says so).
_base_ = '../_base_/demo.py'
model = dict(backbone=dict(_delete_=True, type='tricks.ResNet', depth=18, variant='d', base_channels=16,
                           out_indices=(0, 1, 2, 3), strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                           contract_dilation=True, norm_cfg={{_base_.norm_cfg}}, norm_eval=False))
