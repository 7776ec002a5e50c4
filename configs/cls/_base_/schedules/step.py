# The paper's baseline (§2): lr ÷10 at epochs 30, 60 and 90 of 120, no warmup. lr itself is the optimiser's
# (0.1 at batch 256); `auto_scale_lr=dict(base_batch_size=256, enable=True)` scales it linearly with the batch.
max_epochs = 120
milestones = [30, 60, 90]

param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=milestones, gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
