# "How to train your ResNet", part 4, the architecture search on CIFAR-10, step 1: the shortest path, 55.9 % in 20
# epochs on the page. Every step after it inherits the one before and states only what it changes; record.py is the
# end. The page's recipe (cifar10-fast dawn.py): batch 512, lr piecewise linear 0 → 0.4 → 0, set every iteration
# (knots at epochs 0, 4, 20 here; 0, 5, 24 for the record), Nesterov 0.9, weight decay 5e-4 on every parameter,
# 4-px reflect-padded random crop, flip and 8×8 cutout on whole batches, half precision (the AMP rule: bf16 on a CPU with native bf16). dawn.py
# writes lr/512 and wd 5e-4·512 on a loss summed over the batch: the same steps as lr 0.4 and wd 5e-4 on the mean
# loss used here (the gradient of the sum is 512× that of the mean).
_base_ = ['../_base_/datasets/cifar10.py', '../_base_/default_runtime.py']
model = dict(
    type='tricks.ImageClassifier', num_classes={{_base_.num_classes}}, pooling='avgmax', channels_last=True,
    backbone=dict(type='tricks.ResNet9', channels=(64, 128, 256, 256), res_layers=(), downsample='conv1x1',
                  bn_weight_init='uniform', out_indices=(2,)),
    data_preprocessor=dict(mean=(125.31, 122.95, 113.87), std=(62.99, 62.09, 66.70),
                           batch_augments=[dict(type='tricks.RandomCropFlip', padding=4),
                                           dict(type='tricks.Cutout', size=8)]))
train_dataloader = dict(batch_size=512, drop_last=True)
optim_wrapper = dict(type='tricks.AmpOptimWrapper', dtype=None,
                     optimizer=dict(type='SGD', lr=0.4, momentum=0.9, nesterov=True, weight_decay=5e-4))
param_scheduler = [dict(type='tricks.PiecewiseLinearLR', milestones=[0, 4, 20], factors=[0, 1, 0], by_epoch=True,
                        convert_to_iter_based=True)]
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
default_hooks = dict(logger=dict(interval=20))
# Evaluation under autocast too, in the AMP rule's precision (fp32 where that trains in fp32: engine/cli.py).
val_cfg = dict(fp16=True)
test_cfg = dict(fp16=True)
