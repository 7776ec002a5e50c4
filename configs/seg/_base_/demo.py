# FCN (dilated backbone, output stride 8) on the embedded world's ADE-format split (tools/make_demo_data.py
# data/demo): the full-scale config (./ade20k.py) shrunk to a 2-core CPU (sizes: shared/reference/cpu-calibration.md).
# Ladder steps (../demo/*.py) name the backbone exported from their configs/cls/demo run.
_base_ = './ade20k.py'

data_root = 'data/demo/ade/'
classes = ('gradient', 'speckle', 'blotches', 'waves', 'striped_disc', 'dotted_disc', 'checkered_square',
           'striped_square', 'plain_triangle', 'dotted_triangle', 'checkered_cross', 'plain_ring', 'striped_star')
num_classes = 13  # = len(datagen.demo_world.SEG_CLASSES); label 0 (object outlines) is ignored (reduce_zero_label)
crop_size = (96, 96)  # the world's images are 96 px
max_iters = 300

# The base's dilated D8 keys (SyncBN: the Runner reverts it to BN when not distributed) apply to the demo's cls
# backbone, a ResNet-18 at a quarter width: stages 16/32/64/128 channels, so the heads read 128 (stage 4) and 64
# (stage 3).
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(checkpoint='work_dirs/cls/demo/resnet18d_cosine_ls/backbone.pth'),
    decode_head=dict(in_channels=128, channels=64, num_convs=1, num_classes=num_classes),
    auxiliary_head=dict(in_channels=64, channels=32, num_classes=num_classes))

# The base's pipelines scaled from 512 to 96 px (RandomResize's (2048, 512) -> (384, 96)); LoadAnnotations takes
# reduce_zero_label from the dataset (mmseg deprecates setting it in the transform).
dataset_type = 'tricks.ADEFormatDataset'  # ADE's layout with the world's classes, checked (seg/ade_format.py)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(384, 96), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(384, 96), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
ade_format = dict(type=dataset_type, data_root=data_root, metainfo=dict(classes=classes))


def ade_split(split: str, pipeline: list) -> dict:
    """The loader of one split of the ADE layout: images/<split>/*.jpg, annotations/<split>/*.png."""
    return dict(batch_size=8, num_workers=1, persistent_workers=True,
                dataset=dict(ade_format, _delete_=True, pipeline=pipeline,
                             data_prefix=dict(img_path=f'images/{split}', seg_map_path=f'annotations/{split}')))


train_dataloader = ade_split('training', train_pipeline)
val_dataloader = ade_split('validation', test_pipeline)
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])  # reports aAcc (pixel accuracy), mIoU, mAcc
test_evaluator = val_evaluator

# A short schedule: the base's poly decay over max_iters, one validation and one checkpoint at the end.
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=max_iters))
randomness = dict(seed=0)
# No fixed visualizer name (the base says 'visualizer'): the Runner then names it after the run, so several runs in one
# process (a ladder, the tests) each get their own instead of reusing the first run's, with its save_dir.
visualizer = dict(_delete_=True, type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')])
