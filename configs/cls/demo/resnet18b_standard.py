# B-standard (paper §2): ResNet-B, step schedule (÷10 at ¼, ½, ¾ of training), weight decay on every parameter,
# fp32. The embedded world at 48 px, ResNet-18 at a quarter of the width; lengths and lr: schedules/demo.py.
_base_ = ['../_base_/datasets/demo.py', '../_base_/schedules/demo.py', '../_base_/default_runtime.py']
model = dict(type='tricks.ImageClassifier', num_classes={{_base_.num_classes}},
             backbone=dict(type='tricks.ResNet', depth=18, variant='b', base_channels=16, out_indices=(3,)))
param_scheduler = [{{_base_.step}}]
