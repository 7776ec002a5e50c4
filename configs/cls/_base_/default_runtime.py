# What every classification run shares: our scope, plain-data checkpoints with a trick card, seeded randomness.
default_scope = 'tricks'
# What registers the scope's classes (the installed library's registry imports only `backbones`): the models,
# datasets, transforms, optim wrappers and hooks of cls/, the hooks of engine/hooks.py, and the stop-signal hook
# and train loops of engine/preemption.py, which a Runner in this scope takes for mmengine's.
custom_imports = dict(imports=['cls', 'engine.hooks', 'engine.preemption'], allow_failed_imports=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='tricks.CheckpointHook', interval=1, max_keep_ckpts=1, save_best='top1', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    time_to_accuracy=dict(type='tricks.TimeToAccuracyHook', target=None),
)
custom_hooks = [dict(type='tricks.TrickCardHook'), dict(type='tricks.PlainCheckpointHook'),
                dict(type='tricks.NonFiniteLossHook'), dict(type='tricks.ReseedHook')]
env_cfg = dict(cudnn_benchmark=True, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
log_processor = dict(by_epoch=True, window_size=50)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
val_cfg = dict()
test_cfg = dict()
val_evaluator = dict(type='tricks.Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
