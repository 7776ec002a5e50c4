# NFNet-F0 (Brock et al. 2021) on one machine with 8 GPUs (configs/ladders/paper.py): the paper's batch of 4096 as
# 128 images per GPU × 8 GPUs × 4 accumulated steps, so that AGC's λ = 0.01 (set for batch 4096) holds; lr
# 0.1 × 4096/256 = 1.6, set by hand because mmengine's auto_scale_lr does not count accumulated steps. 5 warmup epochs + cosine, 360
# epochs, Nesterov 0.9, wd 2e-5 on weights only (not on biases, nor on the gains: `.gain` of the standardised convs,
# `skipinit_gain` of the blocks), label smoothing 0.1, dropout 0.2, stochastic depth 0.25, train 192 px / test 256 px,
# AGC (classifier excluded), EMA of the weights. Expected top-1 83.6.
_base_ = ['../_base_/datasets/imagenet.py', '../_base_/schedules/paper.py', '../_base_/default_runtime.py']
model = dict(type='tricks.ImageClassifier', num_classes={{_base_.num_classes}}, dropout=0.2,
             backbone=dict(type='tricks.NFNet', arch='dm_nfnet_f0', drop_path_rate=0.25, out_indices=(3,)),
             data_preprocessor=dict(label_smoothing=0.1), channels_last=True)
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=[
    dict(type='tricks.RandomResizedCrop', size=192), dict(type='tricks.RandomHorizontalFlip')]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(type='tricks.ResizeShorter', size=292), dict(type='tricks.CenterCrop', size=256)]))
test_dataloader = val_dataloader
optim_wrapper = dict(type='tricks.AmpOptimWrapper', dtype='bfloat16', accumulative_counts=4,
                     optimizer=dict(lr=1.6, weight_decay=2e-5),
                     clip_grad=dict(type='agc', clipping=0.01, eps=1e-3),
                     constructor='tricks.ParamwiseOptimWrapperConstructor',
                     paramwise_cfg=dict(bias_decay_mult=0.0, custom_keys={'gain': dict(decay_mult=0.0),
                                                                          'head': dict(agc=False)}))
auto_scale_lr = dict(enable=False)
param_scheduler = [{{_base_.warmup}}, {{_base_.cosine}}]
train_cfg = dict(max_epochs=360)
custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL'), dict(type='tricks.TrickCardHook'),
                dict(type='tricks.PlainCheckpointHook'), dict(type='tricks.NonFiniteLossHook'),
                dict(type='tricks.ReseedHook')]
