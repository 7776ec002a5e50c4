# The paper's baseline (§2, Table 3 "baseline"): ResNet-50-B, batch 256 (8 GPUs × 32), lr 0.1, Nesterov SGD, wd 1e-4
# on every parameter, ÷10 at epochs 30/60/90 of 120, fp32. Expected top-1 ≈ 75.3–76.1.
_base_ = ['../_base_/datasets/imagenet.py', '../_base_/default_runtime.py', '../_base_/schedules/step.py']
model = dict(type='tricks.ImageClassifier', num_classes={{_base_.num_classes}},
             backbone=dict(type='tricks.ResNet', depth=50, variant='b', out_indices=(3,)))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4))
auto_scale_lr = dict(base_batch_size=256, enable=True)  # linear scaling: lr = 0.1 × total batch / 256
