# ImageNet in folder layout (data_root/{train,val}/<wnid>/*.JPEG) with the paper's augmentation (§2).
_base_ = './image_folder.py'
data_root = 'data/imagenet'
num_classes = 1000
train_pipeline = [
    dict(type='tricks.RandomResizedCrop', size=224),   # area 8–100 %, aspect 3/4–4/3
    dict(type='tricks.RandomHorizontalFlip'),
    dict(type='tricks.ColorJitter'),                    # brightness, contrast, saturation 0.4
    dict(type='tricks.PCALighting'),                    # α ~ N(0, 0.1)
]
val_pipeline = [dict(type='tricks.ResizeShorter', size=256), dict(type='tricks.CenterCrop', size=224)]
# 32 per GPU × 8 GPUs = 256, the paper's baseline
train_dataloader = dict(batch_size=32, num_workers=8, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, num_workers=8, persistent_workers=True,
                      dataset=dict(data_root=data_root, pipeline=val_pipeline))
test_dataloader = val_dataloader
