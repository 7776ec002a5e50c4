# Faster R-CNN on the embedded world (tools/make_demo_data.py data/demo → data/demo/voc/VOC2007), sized for 2 CPU
# cores (shared/reference/cpu-calibration.md: ~0.22 s/iter at batch 8, 96 px): the stock VOC config with the demo's
# cls backbone (a ResNet-18 at a quarter width: stages 16/32/64/128) and shrunk heads. Ladder rows
# (configs/det/demo/) name the backbone exported from their configs/cls/demo/ run (tools/export_backbone.py); the
# architecture comes with it (tricks.ExportedBackbone, as in the full-scale ./voc0712.py this shrinks).
_base_ = './voc0712.py'

data_root = 'data/demo/voc/'
# datagen.demo_world.THING_CLASSES (tests/test_det_configs.py checks they agree)
classes = ('striped_disc', 'dotted_disc', 'checkered_square', 'striped_square', 'plain_triangle', 'dotted_triangle',
           'checkered_cross', 'plain_ring', 'striped_star')
image_size = 96
max_iters = 300

model = dict(
    backbone=dict(checkpoint='work_dirs/cls/demo/resnet18d_cosine_ls/backbone.pth'),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    # Things are 14-38 px: anchors of 16 px at stride 4 (stock: 32 px, which no 14-px box overlaps at IoU 0.3).
    rpn_head=dict(in_channels=64, feat_channels=64, anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=len(classes))),
    # A 96-px scene has ~2,300 anchors; the stock nms_pre (2,000 per level in training) kept all of them for an
    # O(n²) CPU NMS per image, ~27 % of a step (docs/benchmarks.md). The top 500 per level go to NMS instead.
    train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=100), rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# One VOCDataset instead of the stock RepeatDataset(VOC2007 + VOC2012). No bbox_min_size: the stock 32 px would
# mark most things as ignored.
train_dataloader = dict(
    _delete_=True, batch_size=8, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='tricks.VOCDataset', data_root=data_root, metainfo=dict(classes=classes),
                 ann_file='VOC2007/ImageSets/Main/trainval.txt', data_prefix=dict(sub_data_root='VOC2007/'),
                 filter_cfg=dict(filter_empty_gt=True, min_size=32), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=dict(classes=classes), pipeline=test_pipeline))
test_dataloader = val_dataloader
# VOC07: 11-point AP at IoU 0.5; tricks.VOCMetric names the world's classes in the per-class table (mmdet's would
# print Pascal VOC's for any folder called VOC2007).
val_evaluator = dict(type='tricks.VOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator

# By iterations: linear warmup, ÷10 at 3/4. lr 0.02 at batch 8 (the stock 0.01 at 16, doubled for a short run).
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[max_iters * 3 // 4], gamma=0.1),
]
# Gradient clipping (mmdet's usual max_norm=35) keeps that short, high-lr fine-tuning finite whatever the backbone: a
# poorly pretrained one (the demo's B-standard) otherwise drove the loss to NaN within 100 iterations.
optim_wrapper = dict(optimizer=dict(lr=0.02), clip_grad=dict(max_norm=35, norm_type=2))
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False, window_size=20)
randomness = dict(seed=0)
