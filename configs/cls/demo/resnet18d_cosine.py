# Table 6, + cosine: η_t = ½(1 + cos(πt/T))·η after the warmup, updated every iteration.
_base_ = './resnet18d_efficient.py'
param_scheduler = [{{_base_.warmup}}, {{_base_.cosine}}]
