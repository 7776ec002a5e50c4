# Control: the same FCN with a randomly initialised backbone (no Pretrained init; the weights check has nothing to
# compare and says so).
_base_ = '../_base_/demo.py'
backbone_checkpoint = None
model = dict(backbone=dict(init_cfg=None))
