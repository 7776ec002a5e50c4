# Table 9 at full scale: mmseg's FCN R50-D8, 512x512, ADE20K, 80k iterations (4 GPUs x 4 images), unchanged except
# the backbone: the exported backbone of a configs/cls/imagenet run, whose architecture comes with it
# (tricks.ExportedBackbone), with the stock config's dilated D8 keys (strides (1, 2, 1, 1), dilations (1, 1, 2, 4),
# contract_dilation, SyncBN, norm_eval=False). Rows (../ade20k/*.py) name the export. Every run checks that the
# exported weights arrived and saves plain-data checkpoints.
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py'
custom_imports = dict(imports=['backbones', 'engine.hooks', 'seg'], allow_failed_imports=False)

data_root = 'data/ade/ADEChallengeData2016'

# pretrained=None: the base's 'open-mmlab://resnet50_v1c' is not ours (and is not downloaded).
model = dict(
    pretrained=None,
    backbone=dict(_delete_=True, type='tricks.ExportedBackbone',
                  checkpoint='work_dirs/cls/imagenet/resnet50d_efficient/backbone.pth', out_indices=(0, 1, 2, 3),
                  strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), contract_dilation=True, norm_cfg={{_base_.norm_cfg}},
                  norm_eval=False))
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
default_hooks = dict(checkpoint=dict(type='tricks.CheckpointHook'))
custom_hooks = [dict(type='tricks.BackboneWeightsCheckHook'), dict(type='tricks.PlainCheckpointHook'),
                dict(type='tricks.NonFiniteLossHook'), dict(type='tricks.ReseedHook')]
