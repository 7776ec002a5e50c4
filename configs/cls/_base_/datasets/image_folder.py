# What every ImageNet-layout classification set shares (data_root/<split>/<class>/*, tricks.ImageFolder): batches of
# uint8 images stacked by `tricks.stack_collate` (default_collate, naming an image of another size) and normalised on the device. A set's base names data_root (in each
# dataset dict: a variable set there does not reach the dicts resolved here), splits, batch sizes and pipelines.
# Each sample's augmentation is seeded from (seed, epoch, index) (tricks.SeededSampler): the same draws for any number
# of workers, and a resumed run replays those of the uninterrupted one (tricks.ReseedHook seeds the main process).
train_dataloader = dict(
    num_workers=1, persistent_workers=True, worker_init_fn=dict(type='tricks.seed_worker'),
    sampler=dict(type='tricks.SeededSampler', shuffle=True),
    collate_fn=dict(type='tricks.stack_collate'),
    dataset=dict(type='tricks.ImageFolder', split='train'))
val_dataloader = dict(
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='tricks.stack_collate'),
    dataset=dict(type='tricks.ImageFolder', split='val', same_classes_as='train'))
test_dataloader = val_dataloader  # a set's base restates it: its own val changes then reach the test loader too
