# NFNet-F0 (Brock et al. 2021): batch 4096 (e.g. 32 GPUs × 128), lr 0.1 × 4096/256 = 1.6, 5 warmup epochs + cosine,
# 360 epochs, Nesterov 0.9, wd 2e-5 on weights only, label smoothing 0.1, dropout 0.2, stochastic depth 0.25,
# train 192 px / test 256 px, AGC λ = 0.01 (classifier excluded), EMA of the weights. Expected top-1 83.6.
_base_ = ['../_base_/datasets/imagenet.py', '../_base_/default_runtime.py']
max_epochs = 360
model = dict(type='tricks.ImageClassifier', num_classes={{_base_.num_classes}}, dropout=0.2,
             backbone=dict(type='tricks.NFNet', arch='dm_nfnet_f0', drop_path_rate=0.25, out_indices=(3,)),
             data_preprocessor=dict(label_smoothing=0.1), channels_last=True)
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=[
    dict(type='tricks.RandomResizedCrop', size=192), dict(type='tricks.RandomHorizontalFlip')]))
val_dataloader = dict(dataset=dict(pipeline=[
    dict(type='tricks.ResizeShorter', size=292), dict(type='tricks.CenterCrop', size=256)]))
test_dataloader = val_dataloader
optim_wrapper = dict(type='tricks.AmpOptimWrapper', dtype='bfloat16',
                     optimizer=dict(type='SGD', lr=0.1, momentum=0.9, nesterov=True, weight_decay=2e-5),
                     clip_grad=dict(type='agc', clipping=0.01, eps=1e-3),
                     constructor='tricks.ParamwiseOptimWrapperConstructor',
                     paramwise_cfg=dict(bias_decay_mult=0.0, custom_keys={'.gain': dict(decay_mult=0.0),
                                                                          'head': dict(agc=False)}))
auto_scale_lr = dict(base_batch_size=256, enable=True)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=5, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
custom_hooks = [dict(type='EMAHook', momentum=1e-4, priority='ABOVE_NORMAL'),
                dict(type='tricks.TrickCardHook'), dict(type='tricks.PlainCheckpointHook')]
