# B-standard (paper §2): ResNet-B, step schedule (÷10 at 1/4, 1/2, 3/4 of training), weight decay on every
# parameter, fp32. The embedded world at 32 px, ResNet-18 at a quarter of the width; lr 0.2 at batch 64 (this small
# set learns slowly at the paper's 0.1 per 256).
_base_ = ['../_base_/datasets/demo.py', '../_base_/default_runtime.py']
max_epochs = 30
model = dict(type='tricks.ImageClassifier', num_classes={{_base_.num_classes}},
             backbone=dict(type='tricks.ResNet', depth=18, variant='b', base_channels=16, out_indices=(3,)))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.2, momentum=0.9, nesterov=True, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=64, enable=True)  # linear scaling: lr = 0.2 × batch / 64
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[8, 15, 23], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
