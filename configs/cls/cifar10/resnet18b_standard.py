# The plain baseline on CIFAR-10: ResNet-18-B with a CIFAR stem (stride 1, no max-pool), the paper's step schedule
# (÷10 at 30/60/90 of 120 epochs, here 4/7/11 of 14), Nesterov SGD lr 0.1 at batch 256, weight decay 5e-4 on every
# parameter, crop (4-px reflect padding) + flip. bf16 autocast and channels_last only for speed, as in the full recipe
# it is compared with.
_base_ = ['../_base_/datasets/cifar10.py', '../_base_/default_runtime.py']
max_epochs = 14
model = dict(type='tricks.ImageClassifier', num_classes={{_base_.num_classes}}, channels_last=True,
             backbone=dict(type='tricks.ResNet', depth=18, variant='b', base_channels=16, stem_stride=1,
                           stem_pool=False, out_indices=(3,)),
             data_preprocessor=dict(mean=(125.3, 123.0, 113.9), std=(63.0, 62.1, 66.7),
                                    batch_augments=[dict(type='tricks.RandomCropFlip', padding=4)]))
optim_wrapper = dict(type='tricks.AmpOptimWrapper', dtype=None,
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4))
auto_scale_lr = dict(base_batch_size=256, enable=True)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[4, 7, 11], gamma=0.1)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=7)
default_hooks = dict(logger=dict(interval=100))
