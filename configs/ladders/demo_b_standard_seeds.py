# The default ladder's B-standard classification alone, over 3 seeds: the seed-to-seed spread of its top-1 on this
# CPU kind, to set beside the README's single-seed tables (and beside the same seeds on the other kind).
_base_ = './demo.py'
seeds = 3
rows = [dict(name='B-standard', paper='B-standard', cls='configs/cls/demo/resnet18b_standard.py')]
