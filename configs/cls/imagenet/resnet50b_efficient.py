# Efficient training (§3, Table 4): batch 1024 (8 × 128) → lr 0.4 by linear scaling, 5 warmup epochs, zero-γ,
# no bias/BN decay, FP16 with dynamic loss scaling. Expected top-1 ≈ 76.2 (Table 4) / 76.66 as ResNet-B (Table 5).
_base_ = ['./resnet50b_standard.py']
train_dataloader = dict(batch_size=128)
model = dict(backbone=dict(zero_init_residual=True), channels_last=True)
optim_wrapper = {{_base_.efficient_optim_wrapper}}
param_scheduler = [{{_base_.warmup}}, {{_base_.step}}]
