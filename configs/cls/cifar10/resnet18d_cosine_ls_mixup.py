# Table 6, + mixup (α = 0.2), trained longer as in the paper (about 200/120 of the base length).
_base_ = './resnet18d_cosine_ls.py'
model = dict(data_preprocessor=dict(batch_augments=[dict(type='tricks.RandomCropFlip', padding=4),
                                                    dict(type='tricks.Mixup', alpha=0.2)]))
train_cfg = dict(max_epochs=24)
