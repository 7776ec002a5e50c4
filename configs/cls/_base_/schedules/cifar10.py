# The paper's schedules at CIFAR-10 scale: 14 epochs (÷10 at ¼, ½, ¾: epochs 4, 7, 11), 2 warmup epochs; lr 0.1 at
# batch 256 and weight decay 5e-4, CIFAR's usual values; validation at the middle and the end.
_base_ = './paper.py'
max_epochs = 14
optim_wrapper = dict(optimizer=dict(weight_decay=5e-4))
step = dict(milestones=[4, 7, 11])
warmup = dict(end=2)
cosine = dict(begin=2)
train_cfg = dict(max_epochs=max_epochs, val_interval=7)
