# Table 6, + cosine decay (per iteration, after the 5 warmup epochs). Expected 77.91.
_base_ = './resnet50d_efficient.py'
param_scheduler = [{{_base_.warmup}}, {{_base_.cosine}}]
