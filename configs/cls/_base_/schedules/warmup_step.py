# Efficient training (§3, Table 4 "+ warmup"): the baseline's ÷10 steps after a linear warmup over the first
# `warmup_epochs`, updated every iteration. mmengine's LinearLR starts at start_factor·lr (> 0: its chained form
# divides by it) and reaches lr on the last warmup iteration.
max_epochs = 120
milestones = [30, 60, 90]
warmup_epochs = 5
warmup_start_factor = 1e-3

param_scheduler = [
    dict(type='LinearLR', start_factor=warmup_start_factor, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=milestones, gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
