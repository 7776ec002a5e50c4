# Efficient training (Table 4) on CIFAR-10: 2 warmup epochs, zero-γ, no bias/BN decay (AMP is in the baseline, for speed).
_base_ = './resnet18b_standard.py'
model = dict(backbone=dict(zero_init_residual=True))
optim_wrapper = dict(constructor='tricks.ParamwiseOptimWrapperConstructor',
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=2, convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[4, 7, 11], gamma=0.1),
]
