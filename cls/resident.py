"""A small image-folder set held whole on the training device: the record runs' data path, through the Runner.

The record runs are bound by data loading unless the set lives where the model does. `ResidentImageFolder` decodes
the split once into one uint8 N×C×H×W tensor (kept on disk by `decode_all`, so the next run loads it in a moment),
puts it on the training device, and hands the DataLoader a whole batch per call: PyTorch's DataLoader calls
`__getitems__` with the batch sampler's indices, so a batch is two tensor gathers, with no worker processes and no
per-sample Python. The sampler is the ordinary one (`SeededSampler`, `DefaultSampler`): order, seed, epoch and
distributed sharding are exactly those of `ImageFolder`. Crop, flip and cutout run on the batch in the data
preprocessor (`batch_augments`), as they do for the cached `ImageFolder`.

    train_dataloader = dict(num_workers=0, persistent_workers=False, collate_fn=dict(type='tricks.as_batch'),
                            sampler=dict(type='tricks.SeededSampler', shuffle=True),
                            dataset=dict(type='tricks.ResidentImageFolder', data_root=..., split='train'))
"""

from collections import Counter

import torch
from mmengine.device import get_device

from backbones.registry import DATASETS, FUNCTIONS

from .data import Draw, ImageFolder, ImageFolderError


@FUNCTIONS.register_module()
def as_batch(batch: dict) -> dict:
    """The collate function of a dataset whose `__getitems__` already returns the stacked batch: nothing to do."""
    return batch


@DATASETS.register_module()
class ResidentImageFolder(ImageFolder):
    """`ImageFolder` (same layout, checks and arguments) held as one uint8 tensor on `device`.

    Args:
        device: where the images live: 'auto' (mmengine's `get_device()`: the GPU of this rank if there is one),
            'cpu', 'cuda', 'cuda:1', ...
        cache_dir: where the decoded tensor is kept between runs ('auto': `cls.data.default_cache_dir()`; None: decode
            every run).
        **kwargs: `ImageFolder`'s, but no `pipeline` (augment the batch in the data preprocessor) and every image of
            the same size.
    """

    def __init__(self, *args, device: str = 'auto', cache_dir: str | None = 'auto', **kwargs):
        if kwargs.get('pipeline'):
            raise ImageFolderError(
                "ResidentImageFolder: pipeline must be empty; augment whole batches with the data preprocessor's "
                'batch_augments (e.g. tricks.RandomCropFlip, tricks.Cutout)'
            )
        if kwargs.pop('cache_decoded', True) is not True:
            raise ImageFolderError('ResidentImageFolder: cache_decoded is always True (the images live in memory)')
        self.device = torch.device(get_device() if device == 'auto' else device)
        super().__init__(*args, cache_decoded=True, cache_dir=cache_dir, **kwargs)

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        super().full_init()  # lists and decodes the files, then applies `indices`
        infos = [self.get_data_info(i) for i in range(len(self))]  # in dataset order: `indices` may pick or reorder
        rows = [info['cache_index'] for info in infos]
        if isinstance(self._decoded, list):  # the files differ in size; the picked ones may not
            shapes = [tuple(self._decoded[row].shape[1:]) for row in rows]
            common = Counter(shapes).most_common(1)[0][0]
            odd = next((i for i, shape in enumerate(shapes) if shape != common), None)
            if odd is not None:
                raise ImageFolderError(
                    f'{infos[odd]["img_path"]}: {shapes[odd][1]}×{shapes[odd][0]} px where most images of '
                    f'{self.split_dir} are {common[1]}×{common[0]}: ResidentImageFolder needs one size (resize the '
                    'set once on disk, or use ImageFolder with a resizing pipeline)'
                )
            self._decoded, rows = torch.stack([self._decoded[row] for row in rows]), list(range(len(rows)))
        self._decoded = self._decoded.to(self.device)
        self.rows = torch.tensor(rows, dtype=torch.long, device=self.device)
        self.labels = torch.tensor([info['label'] for info in infos], dtype=torch.long, device=self.device)

    def prepare_data(self, idx: int) -> dict:
        return dict(inputs=self._decoded[self.rows[idx]], labels=int(self.labels[idx]))

    def __getitems__(self, indices: list[int | Draw]) -> dict:
        """The batch of these dataset indices (`Draw`s from `SeededSampler` carry theirs), in this order."""
        picked = torch.tensor([getattr(index, 'index', index) for index in indices], dtype=torch.long)
        picked = picked.to(self.device, non_blocking=True)
        return dict(inputs=self._decoded[self.rows[picked]], labels=self.labels[picked])
