# Table 6, + mixup (α = 0.2) without distillation, 200 epochs. Expected 79.15.
_base_ = './resnet50d_cosine_ls.py'
model = dict(data_preprocessor=dict(batch_augments=[dict(type='tricks.Mixup', alpha=0.2)]))
train_cfg = dict(max_epochs=200)
