# Table 6, + cosine: η_t = ½(1 + cos(πt/T))·η after the warmup, updated every iteration.
_base_ = './resnet18d_efficient.py'
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=5, convert_to_iter_based=True),
]
