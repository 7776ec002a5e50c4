# Table 6, + distillation from the teacher (T = 20, the loss's default): train configs/cls/demo/resnet18d_teacher.py
# first; `checkpoint` may be the teacher's work dir (its last checkpoint is used).
_base_ = './resnet18d_cosine_ls.py'
model = dict(teacher=dict(config='configs/cls/demo/resnet18d_teacher.py',
                          checkpoint='work_dirs/cls/demo/resnet18d_teacher'))
