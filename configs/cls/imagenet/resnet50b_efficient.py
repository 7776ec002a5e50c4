# Efficient training (§3, Table 4): batch 1024 (8 × 128) → lr 0.4 by linear scaling, 5 warmup epochs, zero-γ,
# no bias/BN decay, FP16 with dynamic loss scaling. Expected top-1 ≈ 76.2 (Table 4) / 76.66 as ResNet-B (Table 5).
_base_ = ['./resnet50b_standard.py']
train_dataloader = dict(batch_size=128)
model = dict(backbone=dict(zero_init_residual=True), channels_last=True)
optim_wrapper = dict(type='tricks.AmpOptimWrapper', dtype='float16', loss_scale='dynamic',
                     constructor='tricks.ParamwiseOptimWrapperConstructor',
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1),
]
