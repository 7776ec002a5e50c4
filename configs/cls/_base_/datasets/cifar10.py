# CIFAR-10 in folder layout (../shared/data/cifar10-jpg.tar.gz extracted: data_root/{train,test}/<class>/*.jpg).
# The 60,000 32-px images are decoded once into memory; crop + flip run on whole batches in the data preprocessor
# (model.data_preprocessor.batch_augments), so no per-sample pipeline is left to slow a 2-core machine down.
_base_ = './image_folder.py'
data_root = 'data/cifar10'
num_classes = 10
train_dataloader = dict(batch_size=256, dataset=dict(data_root=data_root, cache_decoded=True, pipeline=[]))
val_dataloader = dict(batch_size=500, dataset=dict(data_root=data_root, split='test', cache_decoded=True, pipeline=[]))
test_dataloader = val_dataloader
