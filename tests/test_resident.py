"""The device-resident data path (cls/resident.py) gives what the ordinary ImageFolder pipeline gives: every image and
label once per epoch, in the sampler's seeded order, sharded across ranks, with the same augmentation statistics;
and it keeps the decoded set on disk for the next run."""

from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate
from mmengine.runner import Runner
from PIL import Image
from torchvision.transforms import v2

import cls.data
from backbones.registry import MODELS
from cls.data import ImageFolder, ImageFolderError, SeededSampler
from cls.resident import ResidentImageFolder

CLASSES = ('ant', 'bee', 'cat')


def make_set(root: Path, per_class=(7, 5, 9), size=(12, 10)) -> Path:
    """A train split of distinct random images (unequal class sizes, so that a batch mixes them)."""
    rng = np.random.default_rng(1)
    for name, count in zip(CLASSES, per_class):
        for i in range(count):
            path = root / 'train' / name / f'{i:02d}.png'
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(path)
    return root


@pytest.fixture
def image_set(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv('TRICKS_CACHE', str(tmp_path / 'cache'))  # the default disk cache, inside the test's folder
    return make_set(tmp_path / 'data')


def loader(dataset, sampler, batch_size: int, resident: bool):
    """The DataLoader as the Runner builds it from the configs: batches of indices, collated or stacked already."""
    collate = cls.resident.as_batch if resident else default_collate
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=0, collate_fn=collate
    )


def epoch_batches(dataset, seed: int, epoch: int, resident: bool, batch_size=4, rank=0, world_size=1) -> list[dict]:
    with mock.patch('mmengine.dataset.sampler.get_dist_info', return_value=(rank, world_size)):
        sampler = SeededSampler(dataset, shuffle=True, seed=seed, round_up=False)
    sampler.set_epoch(epoch)
    return list(loader(dataset, sampler, batch_size, resident))


def as_rows(batches: list[dict]) -> list[tuple[bytes, int]]:
    return [(image.numpy().tobytes(), int(label)) for b in batches for image, label in zip(b['inputs'], b['labels'])]


def test_every_image_and_label_once_per_epoch_in_the_ordinary_pipelines_order(image_set):
    ordinary = ImageFolder(str(image_set), 'train')
    resident = ResidentImageFolder(str(image_set), 'train', device='cpu')
    everything = sorted(as_rows([default_collate([ordinary[i] for i in range(len(ordinary))])]))
    for epoch in (0, 1):
        batches = epoch_batches(resident, seed=5, epoch=epoch, resident=True)
        assert all(b['inputs'].dtype == torch.uint8 and b['inputs'].shape[1:] == (3, 12, 10) for b in batches)
        assert sorted(as_rows(batches)) == everything  # each image with its label, exactly once
        assert as_rows(batches) == as_rows(epoch_batches(ordinary, seed=5, epoch=epoch, resident=False))
    orders = {seed: as_rows(epoch_batches(resident, seed, 0, resident=True)) for seed in (5, 6)}
    assert orders[5] != orders[6]  # the seed is the sampler's, and it is respected
    assert as_rows(epoch_batches(resident, 5, 0, resident=True)) != as_rows(epoch_batches(resident, 5, 1, True))


def test_ranks_get_disjoint_shards_that_cover_the_set_as_the_ordinary_pipeline_shards_it(image_set):
    ordinary = ImageFolder(str(image_set), 'train')
    resident = ResidentImageFolder(str(image_set), 'train', device='cpu')
    shards = [as_rows(epoch_batches(resident, 2, 0, True, rank=rank, world_size=2)) for rank in (0, 1)]
    for rank, shard in enumerate(shards):
        assert shard == as_rows(epoch_batches(ordinary, 2, 0, False, rank=rank, world_size=2))
    assert not set(shards[0]) & set(shards[1])
    assert sorted(shards[0] + shards[1]) == sorted(as_rows(epoch_batches(ordinary, 2, 0, False)))


def test_indices_and_max_per_class_pick_the_same_samples_as_in_image_folder(image_set):
    for kwargs in (dict(indices=[20, 3, 7]), dict(max_per_class=2)):
        ordinary = ImageFolder(str(image_set), 'train', **kwargs)
        resident = ResidentImageFolder(str(image_set), 'train', device='cpu', **kwargs)
        expected = default_collate([ordinary[i] for i in range(len(ordinary))])
        batch = resident.__getitems__(list(range(len(resident))))
        assert torch.equal(batch['inputs'], expected['inputs']) and torch.equal(batch['labels'], expected['labels'])
    assert ImageFolder(str(image_set), 'train', max_per_class=2).get_data_info(2)['label'] == 1  # 2 of each class


def test_the_runner_builds_it_from_the_cifar10_base_and_feeds_the_model(image_set):
    from mmengine.config import Config

    cfg = Config.fromfile('configs/cls/_base_/datasets/cifar10.py')
    cfg.train_dataloader.dataset.data_root = str(image_set)
    cfg.train_dataloader.batch_size = 8
    built = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    assert built.num_workers == 0 and isinstance(built.dataset, ResidentImageFolder)
    batch = next(iter(built))
    assert batch['inputs'].shape == (8, 3, 12, 10) and batch['labels'].dtype == torch.long
    model = MODELS.build(
        dict(type='tricks.ImageClassifier', num_classes=3, backbone=dict(type='tricks.ResNet9', width=0.125))
    )
    processed = model.data_preprocessor(batch, training=True)
    assert processed['inputs'].dtype == torch.float32 and processed['targets'].shape == (8, 3)


def test_augmentation_statistics_match_torchvisions_per_sample_crop_and_flip(image_set):
    """4,000 draws of one image: the batch crop-and-flip on the resident tensor against torchvision's RandomCrop
    (4-px reflect padding) and RandomHorizontalFlip on each sample. The mean image of each must agree within 6
    standard errors; a missing flip or a one-sided offset range moves it by far more."""
    resident = ResidentImageFolder(str(image_set), 'train', device='cpu')
    image = resident.__getitems__([0])['inputs'].float()
    torch.manual_seed(0)
    batched = MODELS.build(dict(type='tricks.RandomCropFlip', padding=4))(image.expand(4000, -1, -1, -1), None)[0]
    per_sample = v2.Compose([v2.RandomCrop((12, 10), padding=4, padding_mode='reflect'), v2.RandomHorizontalFlip()])
    reference = torch.stack([per_sample(image[0]) for _ in range(4000)])
    standard_error = torch.sqrt((batched.var(0) + reference.var(0)) / 4000)
    assert ((batched.mean(0) - reference.mean(0)).abs() < 6 * standard_error + 1e-3).all()
    flipped_only = image.flip(3).expand(4000, -1, -1, -1)  # what a crop that never flips back would be near
    assert ((flipped_only.mean(0) - reference.mean(0)).abs() > 6 * standard_error).any()


def test_a_second_build_loads_the_decoded_set_from_disk_and_a_changed_file_is_decoded_again(image_set, tmp_path):
    first = ResidentImageFolder(str(image_set), 'train', device='cpu')
    first_batch = first.__getitems__(list(range(len(first))))
    assert len(list((tmp_path / 'cache' / 'decoded').glob('*.pt'))) == 1
    with mock.patch.object(cls.data, 'decode_image', side_effect=AssertionError('decoded again')):
        again = ResidentImageFolder(str(image_set), 'train', device='cpu')
        assert torch.equal(again.__getitems__(list(range(len(again))))['inputs'], first_batch['inputs'])
    changed = image_set / 'train' / 'bee' / '00.png'
    Image.fromarray(np.zeros((12, 10, 3), dtype=np.uint8)).save(changed)
    rebuilt = ResidentImageFolder(str(image_set), 'train', device='cpu')
    index = next(i for i in range(len(rebuilt)) if rebuilt.get_data_info(i)['img_path'] == str(changed))
    assert int(rebuilt.__getitems__([index])['inputs'].max()) == 0  # the new pixels, not the cached ones
    assert len(list((tmp_path / 'cache' / 'decoded').glob('*.pt'))) == 2


def test_images_of_several_sizes_or_a_pipeline_are_refused_in_one_line(image_set):
    odd = image_set / 'train' / 'cat' / 'big.png'
    Image.fromarray(np.zeros((20, 16, 3), dtype=np.uint8)).save(odd)
    with pytest.raises(ImageFolderError) as error:
        ResidentImageFolder(str(image_set), 'train', device='cpu')
    assert '\n' not in str(error.value) and str(odd) in str(error.value) and '16×20' in str(error.value)
    with pytest.raises(ImageFolderError, match='pipeline must be empty'):
        ResidentImageFolder(str(image_set), 'train', pipeline=[dict(type='tricks.RandomHorizontalFlip')])
