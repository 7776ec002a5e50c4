# The stock Faster R-CNN R50-FPN, VOC07+12 trainval (repeated 3×) → VOC07 test, 11-point mAP, exactly as mmdet ships
# it, with one change: every dataset reads `data_root` (the stock datasets resolved theirs at load time, so a child
# that only redefined the variable would change nothing). Table 8 rows (configs/det/voc/) swap in the backbone.
_base_ = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
custom_imports = dict(imports=['backbones'], allow_failed_imports=False)
data_root = 'data/VOCdevkit/'
train_dataloader = dict(dataset=dict(dataset=dict(datasets=[
    dict(type='VOCDataset', data_root=data_root, ann_file=f'{year}/ImageSets/Main/trainval.txt',
         data_prefix=dict(sub_data_root=f'{year}/'), filter_cfg=dict(filter_empty_gt=True, min_size=32,
                                                                     bbox_min_size=32),
         pipeline={{_base_.train_pipeline}}, backend_args=None)
    for year in ('VOC2007', 'VOC2012')])))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
