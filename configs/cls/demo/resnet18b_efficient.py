# Efficient training (paper §3, Table 4): linear warmup over 5 epochs, zero-γ, no weight decay on biases and norm
# parameters, mixed precision (bf16 on CPU, fp16 with loss scaling on GPU: `--amp` picks; set here as fp16/bf16-agnostic
# AMP), channels_last. Linear scaling (auto_scale_lr) is already in the baseline.
_base_ = './resnet18b_standard.py'
model = dict(backbone=dict(zero_init_residual=True), channels_last=True)
optim_wrapper = dict(type='tricks.AmpOptimWrapper', dtype=None,  # None: fp16 on CUDA, bf16 on CPU
                     constructor='tricks.ParamwiseOptimWrapperConstructor',
                     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[8, 15, 23], gamma=0.1),
]
