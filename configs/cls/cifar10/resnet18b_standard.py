# The plain baseline on CIFAR-10: ResNet-18-B with a CIFAR stem (stride 1, no max-pool), the paper's step schedule
# (÷10 at ¼, ½, ¾: epochs 4/7/11 of 14; schedules/cifar10.py), Nesterov SGD lr 0.1 at batch 256, weight decay
# 5e-4 on every parameter, crop (4-px reflect padding) + flip. The AMP rule's precision (bf16 on a CPU with native
# bf16) and channels_last only for speed, as in the full recipe it is compared with.
_base_ = ['../_base_/datasets/cifar10.py', '../_base_/schedules/cifar10.py', '../_base_/default_runtime.py']
model = dict(type='tricks.ImageClassifier', num_classes={{_base_.num_classes}}, channels_last=True,
             backbone=dict(type='tricks.ResNet', depth=18, variant='b', base_channels=16, stem_stride=1,
                           stem_pool=False, out_indices=(3,)),
             data_preprocessor=dict(mean=(125.3, 123.0, 113.9), std=(63.0, 62.1, 66.7),
                                    batch_augments=[dict(type='tricks.RandomCropFlip', padding=4)]))
optim_wrapper = dict(type='tricks.AmpOptimWrapper', dtype=None)
param_scheduler = [{{_base_.step}}]
default_hooks = dict(logger=dict(interval=100))
