# The record recipe sized for a 2-core CPU (the target: ≥ 91 % CIFAR-10 top-1 within 30 minutes for the whole
# command; README: what it reached). Half width (32-64-128-256: about 3× the images/s of width 1 here), bf16 autocast
# (the AMP rule's CPU default) and channels_last, the data resident in memory, and from the page's part 8 ("bag of
# tricks", cifar10-fast's final notebook): max-pool before BN (a quarter of the BN/activation work; its CELU costs
# 1.6× a step here, so ReLU stays), label smoothing 0.2, an exponential moving average of the weights (0.99 a step,
# applied every 5 steps, BN statistics included) that is what gets evaluated, and test-time flip. The record's lr knots (0, 5, 24 epochs)
# scaled to 22 epochs; validation from epoch 18 on (earlier ones cannot reach the target and cost time).
_base_ = './record.py'
model = dict(backbone=dict(width=0.5, pool_before_norm=True), test_flip=True,
             data_preprocessor=dict(label_smoothing=0.2))
param_scheduler = [dict(type='tricks.PiecewiseLinearLR', milestones=[0, 5, 22], factors=[0, 1, 0], by_epoch=True,
                        convert_to_iter_based=True)]
train_cfg = dict(max_epochs=22, val_begin=18)
default_hooks = dict(time_to_accuracy=dict(target=91),
                     ema=dict(type='EMAHook', momentum=1 - 0.99**5, interval=5, update_buffers=True))
