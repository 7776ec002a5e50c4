# The full recipe on CIFAR-10 for the same epochs: ResNet-18-D, zero-γ, no bias/BN decay, 2 warmup epochs then cosine
# (per iteration), label smoothing 0.1. Mixup is left out: the paper pairs it with longer training (200 epochs).
_base_ = './resnet18b_standard.py'
model = dict(backbone=dict(variant='d', zero_init_residual=True), data_preprocessor=dict(label_smoothing=0.1))
optim_wrapper = dict(constructor='tricks.ParamwiseOptimWrapperConstructor',
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=2, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=2, convert_to_iter_based=True),
]
