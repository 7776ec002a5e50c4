# B-standard (paper §2): ResNet-B, step schedule (÷10 at 1/4, 1/2, 3/4 of training), weight decay on every
# parameter, fp32. The embedded world at 48 px, ResNet-18 at a quarter of the width. lr 0.05 at batch 64 (twice the
# paper's 0.1 per 256), the best of 0.025 / 0.05 / 0.1 for this baseline (43 / 50 / 40 % top-1 in the ladder's 12
# epochs); at 0.2, without warmup, it collapses to chance within the first epoch.
_base_ = ['../_base_/datasets/demo.py', '../_base_/default_runtime.py']
max_epochs = 30
model = dict(type='tricks.ImageClassifier', num_classes={{_base_.num_classes}},
             backbone=dict(type='tricks.ResNet', depth=18, variant='b', base_channels=16, out_indices=(3,)))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=64, enable=True)  # linear scaling: lr = 0.05 × batch / 64
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[8, 15, 23], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
