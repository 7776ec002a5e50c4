# The paper's baseline (§2, Table 3 "baseline"): ResNet-50-B, batch 256 (8 GPUs × 32), lr 0.1, Nesterov SGD, wd 1e-4
# on every parameter, ÷10 at epochs 30/60/90 of 120, fp32 (schedules/paper.py). Expected top-1 ≈ 75.3–76.1.
_base_ = ['../_base_/datasets/imagenet.py', '../_base_/schedules/paper.py', '../_base_/default_runtime.py']
model = dict(type='tricks.ImageClassifier', num_classes={{_base_.num_classes}},
             backbone=dict(type='tricks.ResNet', depth=50, variant='b', out_indices=(3,)))
param_scheduler = [{{_base_.step}}]
