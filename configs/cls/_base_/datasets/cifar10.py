# CIFAR-10 in folder layout (../shared/data/cifar10-jpg.tar.gz extracted: data_root/{train,test}/<class>/*.jpg).
# The record runs' data path (cls/resident.py): each split decoded once into one uint8 tensor on the training device
# (and kept in $TRICKS_CACHE/decoded for the next run), read a batch at a time by index, no workers; crop, flip and
# cutout run on whole batches in the data preprocessor (model.data_preprocessor.batch_augments).
_base_ = './image_folder.py'
data_root = 'data/cifar10'
num_classes = 10
train_dataloader = dict(
    batch_size=256, num_workers=0, persistent_workers=False, collate_fn=dict(type='tricks.as_batch'),
    dataset=dict(type='tricks.ResidentImageFolder', data_root=data_root))
val_dataloader = dict(
    batch_size=500, num_workers=0, persistent_workers=False, collate_fn=dict(type='tricks.as_batch'),
    dataset=dict(type='tricks.ResidentImageFolder', data_root=data_root, split='test'))
test_dataloader = val_dataloader
