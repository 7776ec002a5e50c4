# The paper's optimisation, as named pieces that recipes compose (ImageNet lengths; demo.py and cifar10.py override
# them for their scales, and a child sees the pieces as overridden). A recipe picks its schedule with one line, e.g.
#     param_scheduler = [{{_base_.warmup}}, {{_base_.cosine}}]
# (a list cannot be merged key by key, so no base sets param_scheduler: a piece changed here reaches every recipe).
max_epochs = 120
# §2 baseline: Nesterov SGD, lr 0.1 per 256 images scaled linearly with the total batch, wd 1e-4 on every parameter.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=256, enable=True)
# §2 baseline: lr ÷10 at ¼, ½ and ¾ of training (epochs 30, 60, 90 of 120).
step = dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1)
# §3 efficient training: linear warmup over the first 5 epochs, per iteration. mmengine's LinearLR starts at
# start_factor·lr (> 0: its chained form divides by it) and reaches lr on the last warmup iteration.
warmup = dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=5, convert_to_iter_based=True)
# §5.1 cosine: lr_t = ½(1 + cos(πt/T))·lr down to 0 after the warmup, t and T in iterations. No `end`: the Runner
# ends it at train_cfg.max_epochs, so a recipe that only changes the length stays right.
cosine = dict(type='CosineAnnealingLR', eta_min=0., by_epoch=True, begin=5, convert_to_iter_based=True)
# §3 efficient training, optimiser side: mixed precision (dtype None, the AMP rule of cls.optim.resolve_amp_dtype:
# fp16 with dynamic loss scaling on GPUs as in the paper, bf16 on CPUs with native bf16, else fp32) and no weight decay on biases and norm parameters.
efficient_optim_wrapper = dict(type='tricks.AmpOptimWrapper', dtype=None,
                               constructor='tricks.ParamwiseOptimWrapperConstructor',
                               paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
