# Table 6, + cosine decay (per iteration, after the 5 warmup epochs). Expected 77.91.
_base_ = './resnet50d_efficient.py'
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=5, convert_to_iter_based=True),
]
