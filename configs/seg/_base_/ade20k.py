# Table 9 at full scale: mmseg's FCN R50-D8, 512x512, ADE20K, 80k iterations (4 GPUs x 4 images), unchanged except
# the backbone: our ResNet-50 (variant d unless a row says otherwise) with the base's dilated D8 keys
# (strides (1, 2, 1, 1), dilations (1, 1, 2, 4), contract_dilation, SyncBN), initialised from the exported backbone of
# a configs/cls/imagenet run. Rows (../ade20k/*.py) set `backbone_checkpoint` and restate init_cfg.checkpoint (a
# child's variable does not reach the dict this file already resolved).
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py'
custom_imports = dict(imports=['backbones'], allow_failed_imports=False)

data_root = 'data/ade/ADEChallengeData2016'
backbone_checkpoint = 'work_dirs/cls/imagenet/resnet50d_efficient/backbone.pth'

# pretrained=None: the base's 'open-mmlab://resnet50_v1c' is not ours (and is not downloaded).
model = dict(
    pretrained=None,
    backbone=dict(type='tricks.ResNet', variant='d', init_cfg=dict(type='Pretrained', checkpoint=backbone_checkpoint)))
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
custom_hooks = [dict(type='tricks.BackboneWeightsCheckHook'), dict(type='tricks.PlainCheckpointHook')]
