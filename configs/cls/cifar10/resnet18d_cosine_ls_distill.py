# Table 6, + distillation (T = 20, the loss's default) from resnet50d_teacher (train it first).
_base_ = './resnet18d_cosine_ls.py'
model = dict(teacher=dict(config='configs/cls/cifar10/resnet50d_teacher.py',
                          checkpoint='work_dirs/cls/cifar10/resnet50d_teacher'))
