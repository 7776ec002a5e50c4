# The embedded synthetic world (tools/make_demo_data.py OUT_DIR): 48-px crops of 9 classes.
_base_ = './image_folder.py'
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
train_dataloader = dict(batch_size=64,
                        dataset=dict(data_root=data_root, cache_decoded=True, pipeline=train_pipeline))
val_dataloader = dict(batch_size=256, dataset=dict(data_root=data_root, cache_decoded=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
