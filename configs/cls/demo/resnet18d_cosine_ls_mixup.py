# Table 6, + mixup (α = 0.2) without distillation; mixup needs longer training (paper: 200 instead of 120 epochs).
_base_ = './resnet18d_cosine_ls.py'
model = dict(data_preprocessor=dict(batch_augments=[dict(type='tricks.Mixup', alpha=0.2)]))
train_cfg = dict(max_epochs=50)
