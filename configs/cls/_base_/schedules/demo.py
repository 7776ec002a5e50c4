# The paper's schedules at the embedded world's scale: 30 epochs (÷10 at ¼, ½, ¾: epochs 8, 15, 23), 5 warmup epochs.
# lr 0.05 at batch 64, twice the paper's per-image rate: the best of 0.025 / 0.05 / 0.1 for B-standard (43 / 50 / 40 %
# top-1 in the ladder's 12 epochs); at 0.2, without warmup, it collapses to chance within the first epoch.
_base_ = './paper.py'
max_epochs = 30
optim_wrapper = dict(optimizer=dict(lr=0.05))
auto_scale_lr = dict(base_batch_size=64)
step = dict(milestones=[8, 15, 23])
train_cfg = dict(max_epochs=max_epochs)
