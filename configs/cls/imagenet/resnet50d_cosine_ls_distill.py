# Table 6, + distillation from ResNet-152-D (T = 20, the loss's default), without mixup. Expected 78.67.
_base_ = './resnet50d_cosine_ls.py'
model = dict(teacher=dict(config='configs/cls/imagenet/resnet152d_teacher.py',
                          checkpoint='work_dirs/cls/imagenet/resnet152d_teacher'))
