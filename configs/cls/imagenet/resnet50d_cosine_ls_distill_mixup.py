# Table 6, + distillation and mixup (200 epochs): the teacher sees the mixed batches. Expected 79.29.
_base_ = './resnet50d_cosine_ls_mixup.py'
model = dict(teacher=dict(config='configs/cls/imagenet/resnet152d_teacher.py',
                          checkpoint='work_dirs/cls/imagenet/resnet152d_teacher'))
