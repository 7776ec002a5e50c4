# Training refinements (§5.1, Table 6 "+ cosine"): linear warmup over the first `warmup_epochs`, then
# lr_t = ½(1 + cos(πt/T))·lr down to 0, with t and T counted in iterations after the warmup; both updated every
# iteration. mmengine's LinearLR starts at start_factor·lr (> 0: its chained form divides by it).
max_epochs = 120
warmup_epochs = 5
warmup_start_factor = 1e-3

param_scheduler = [
    dict(type='LinearLR', start_factor=warmup_start_factor, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    # No `end`: the Runner ends it at train_cfg.max_epochs, so a config that only changes max_epochs stays right.
    dict(type='CosineAnnealingLR', eta_min=0., by_epoch=True, begin=warmup_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
