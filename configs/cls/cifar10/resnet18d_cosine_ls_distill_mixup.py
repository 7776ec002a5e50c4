# Table 6, + distillation and mixup.
_base_ = './resnet18d_cosine_ls_mixup.py'
model = dict(teacher=dict(config='configs/cls/cifar10/resnet50d_teacher.py',
                          checkpoint='work_dirs/cls/cifar10/resnet50d_teacher'))
