"""Train any config of the suite or of mmdet/mmseg: the task follows from the config's `default_scope` (tricks → cls,
mmdet → det, mmseg → seg), then it is tools/train_<task>.py. What tools/dist_train.sh and slurm_train.sh launch."""

from engine.cli import task_of_config, tool

if __name__ == '__main__':
    tool(task_of_config(), 'train')
