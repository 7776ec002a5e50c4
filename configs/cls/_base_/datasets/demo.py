# The embedded synthetic world (tools/make_demo_data.py OUT_DIR): 48-px crops of 9 classes.
data_root = 'data/demo/cls'
num_classes = 9
image_size = 48
# The paper's ImageNet augmentation (crops down to 8 %, colour jitter, PCA lighting) is built for 120 epochs of
# 224-px photos; on 48-px crops and a budget of a minute it only slows learning, so the demo keeps crop and flip.
train_pipeline = [
    dict(type='tricks.RandomResizedCrop', size=image_size, scale=(0.5, 1.0)),
    dict(type='tricks.RandomHorizontalFlip'),
]
val_pipeline = []  # crops are stored at image_size
train_dataloader = dict(
    batch_size=64, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='tricks.ImageFolder', data_root=data_root, split='train', cache_decoded=True,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='tricks.ImageFolder', data_root=data_root, split='val', same_classes_as='train',
                 cache_decoded=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
