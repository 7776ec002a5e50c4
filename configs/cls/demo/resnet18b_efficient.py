# Efficient training (paper §3, Table 4): linear warmup, zero-γ, no weight decay on biases and norm parameters, mixed
# precision (the AMP rule: fp16 with loss scaling on a GPU, bf16 on a CPU with native bf16), channels_last. Linear scaling is in the baseline.
_base_ = './resnet18b_standard.py'
model = dict(backbone=dict(zero_init_residual=True), channels_last=True)
optim_wrapper = {{_base_.efficient_optim_wrapper}}
param_scheduler = [{{_base_.warmup}}, {{_base_.step}}]
