# The default ladder (the README's main job): the embedded world, made on first use, and every row of the paper's
# transfer tables that the demo configs cover, plus a random-init control: cls → export → Faster R-CNN and FCN.
# Sized for 2 CPU cores: two runs at a time with one thread each, every schedule shortened by `schedule_scale`
# (the loop and its lr milestones together; tools/train_*.py --schedule-scale).
embedded_world = 'data/demo'
jobs = 2
threads = 1
schedule_scale = dict(cls=1 / 3, det=0.4, seg=0.4)
cfg_options = dict(cls={'default_hooks.logger.interval': 10}, det={'default_hooks.logger.interval': 10},
                   seg={'default_hooks.logger.interval': 10})
rows = [
    dict(name='random init', det='configs/det/demo/random_init.py', seg='configs/seg/demo/random_init.py'),
    dict(name='B-standard', paper='B-standard', cls='configs/cls/demo/resnet18b_standard.py',
         det='configs/det/demo/resnet18b_standard.py', seg='configs/seg/demo/resnet18b_standard.py'),
    dict(name='D + cosine + label smoothing', paper='+ label smoothing', cls='configs/cls/demo/resnet18d_cosine_ls.py',
         det='configs/det/demo/resnet18d_cosine_ls.py', seg='configs/seg/demo/resnet18d_cosine_ls.py'),
    dict(name='D + all tricks (+ distill w/ mixup)', paper='+ distill w/ mixup',
         cls='configs/cls/demo/resnet18d_cosine_ls_distill_mixup.py',
         det='configs/det/demo/resnet18d_cosine_ls_distill_mixup.py',
         seg='configs/seg/demo/resnet18d_cosine_ls_distill_mixup.py'),
]
