# The page's ladder (resnet9_page.py) sized for a 2-core CPU: every net at quarter width (16-32-64-128), trained on a
# fixed 10,000-image part of the train set (the first 1,000 of each class) for a quarter of each row's epochs (lr
# knots scaled with them), tested on the whole test set once at the end; 3 seeds, two runs at a time. Its numbers sit
# far below the page's: what it shows is whether each step's change stands out of the run-to-run noise at this size.
_base_ = './resnet9_page.py'
seeds = 3
jobs = 2
threads = 1
schedule_scale = dict(cls=0.25)
cfg_options = dict(cls={'model.backbone.width': 0.25, 'train_dataloader.dataset.max_per_class': 1000,
                        'train_cfg.val_interval': 1000, 'default_hooks.logger.interval': 5})
