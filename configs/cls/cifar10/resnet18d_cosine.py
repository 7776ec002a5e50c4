# Table 6, + cosine decay after the warmup, per iteration.
_base_ = './resnet18d_efficient.py'
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=2, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=2, convert_to_iter_based=True),
]
