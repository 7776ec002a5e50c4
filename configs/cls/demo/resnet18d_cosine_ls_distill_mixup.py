# Table 6, + distillation and mixup: the teacher sees the same mixed batches as the student.
_base_ = './resnet18d_cosine_ls_mixup.py'
model = dict(teacher=dict(config='configs/cls/demo/resnet18d_teacher.py',
                          checkpoint='work_dirs/cls/demo/resnet18d_teacher'))
