# Efficient training (Table 4) on CIFAR-10: 2 warmup epochs, zero-γ, no bias/BN decay (AMP is in the baseline, for
# speed).
_base_ = './resnet18b_standard.py'
model = dict(backbone=dict(zero_init_residual=True))
optim_wrapper = {{_base_.efficient_optim_wrapper}}
param_scheduler = [{{_base_.warmup}}, {{_base_.step}}]
