# Table 6, + cosine decay after the warmup, per iteration.
_base_ = './resnet18d_efficient.py'
param_scheduler = [{{_base_.warmup}}, {{_base_.cosine}}]
