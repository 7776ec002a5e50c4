# ImageNet in folder layout (data_root/{train,val}/<wnid>/*.JPEG) with the paper's augmentation (§2).
data_root = 'data/imagenet'
num_classes = 1000
train_pipeline = [
    dict(type='tricks.RandomResizedCrop', size=224),   # area 8–100 %, aspect 3/4–4/3
    dict(type='tricks.RandomHorizontalFlip'),
    dict(type='tricks.ColorJitter'),                    # brightness, contrast, saturation 0.4
    dict(type='tricks.PCALighting'),                    # α ~ N(0, 0.1)
]
val_pipeline = [dict(type='tricks.ResizeShorter', size=256), dict(type='tricks.CenterCrop', size=224)]
train_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True,   # 32 per GPU × 8 GPUs = 256, the paper's baseline
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='tricks.ImageFolder', data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='tricks.ImageFolder', data_root=data_root, split='val', same_classes_as='train',
                 pipeline=val_pipeline))
test_dataloader = val_dataloader
