# The stock Faster R-CNN R50-FPN, VOC07+12 trainval (repeated 3×) → VOC07 test, 11-point mAP, exactly as mmdet ships
# it, with three changes: every dataset reads `data_root` (the stock datasets resolved theirs at load time, so a child
# that only redefined the variable would change nothing) and checks its annotations (tricks.VOCDataset, det/), and the
# backbone is the exported one of a configs/cls/imagenet run, whose architecture comes with it
# (tricks.ExportedBackbone), with the stock config's own fine-tuning keys. Table 8 rows (configs/det/voc/) name the
# export. Every run checks that the exported weights arrived, stops on a loss that is not finite, and saves
# plain-data checkpoints that a kill cannot break.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['backbones', 'engine.hooks', 'det'], allow_failed_imports=False)
data_root = 'data/VOCdevkit/'
model = dict(backbone=dict(_delete_=True, type='tricks.ExportedBackbone',
                           checkpoint='work_dirs/cls/imagenet/resnet50d_efficient/backbone.pth',
                           out_indices=(0, 1, 2, 3), frozen_stages=1, norm_cfg=dict(type='BN', requires_grad=True),
                           norm_eval=True))
train_dataloader = dict(dataset=dict(dataset=dict(datasets=[
    dict(type='tricks.VOCDataset', data_root=data_root, ann_file=f'{year}/ImageSets/Main/trainval.txt',
         data_prefix=dict(sub_data_root=f'{year}/'), filter_cfg=dict(filter_empty_gt=True, min_size=32,
                                                                     bbox_min_size=32),
         pipeline={{_base_.train_pipeline}}, backend_args=None)
    for year in ('VOC2007', 'VOC2012')])))
val_dataloader = dict(dataset=dict(type='tricks.VOCDataset', data_root=data_root))
test_dataloader = val_dataloader
default_hooks = dict(checkpoint=dict(type='tricks.CheckpointHook'))
custom_hooks = [dict(type='tricks.BackboneWeightsCheckHook'), dict(type='tricks.PlainCheckpointHook'),
                dict(type='tricks.NonFiniteLossHook'), dict(type='tricks.ReseedHook')]
