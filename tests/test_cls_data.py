"""ImageFolder scans, validates and caches image folders; the registered transforms are the paper's augmentation."""

import math
import tarfile
from pathlib import Path
from unittest import mock

import numpy as np
import PIL
import pytest
import torch
from mmengine.dataset import Compose, default_collate
from PIL import Image, JpegImagePlugin
from torchvision.transforms import v2

from backbones.registry import DATASETS, TRANSFORMS
from cls.data import (
    IMAGENET_EIGVAL,
    IMAGENET_EIGVEC,
    ImageFolder,
    ImageFolderError,
    PCALighting,
    dct_scale,
    decode_all,
    decode_image,
    stack_collate,
)

CIFAR = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'cifar10-jpg.tar.gz'  # ../shared of the checkout
KANGAROO = CIFAR.with_name('kangaroo-voc.tar.gz')
EXTENSIONS = {'cat': ('.jpg', '.PNG', '.bmp'), 'dog': ('.jpeg', '.webp', '.tif', '.TIFF')}
TRAIN_32 = [
    dict(type='tricks.RandomResizedCrop', size=32),
    dict(type='tricks.RandomHorizontalFlip'),
    dict(type='tricks.ColorJitter'),
    dict(type='tricks.PCALighting'),
]
VAL_32 = [dict(type='tricks.ResizeShorter', size=32), dict(type='tricks.CenterCrop', size=32)]


def make_folder(root: Path, mixed_sizes: bool = True) -> Path:
    """train/ and val/ with classes cat and dog, every image extension, and files that are not images."""
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        for name, extensions in EXTENSIONS.items():
            for i, ext in enumerate(extensions):
                height, width = (30, 40) if i % 2 == 0 or not mixed_sizes else (50, 36)
                path = root / split / name / f'{i}{ext}'
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
    (root / 'train' / 'cat' / 'notes.txt').write_text('not an image')
    (root / 'train' / 'cat' / '._0.jpg').write_bytes(b'a macOS resource fork, not an image')
    return root


@pytest.fixture
def folder(tmp_path) -> Path:
    return make_folder(tmp_path / 'data')


def build(name: str, **kwargs):
    return TRANSFORMS.build(dict(type=f'tricks.{name}', **kwargs))


def one_line_error(make) -> str:
    with pytest.raises(ImageFolderError) as error:
        make()
    assert '\n' not in str(error.value)
    return str(error.value)


def test_scans_every_image_extension_with_sorted_classes(folder):
    dataset = DATASETS.build(dict(type='tricks.ImageFolder', data_root=str(folder), split='train'))
    assert dataset.metainfo['classes'] == ('cat', 'dog')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [Path(info['img_path']).name for info in infos] == [
        '0.jpg',
        '1.PNG',
        '2.bmp',
        '0.jpeg',
        '1.webp',
        '2.tif',
        '3.TIFF',
    ]
    assert [info['label'] for info in infos] == [0, 0, 0, 1, 1, 1, 1]


def test_samples_and_batches_have_the_documented_format(folder):
    dataset = ImageFolder(str(folder), 'train', pipeline=VAL_32)
    sample = dataset[0]
    assert set(sample) == {'inputs', 'labels', 'img_path'} and type(sample['labels']) is int
    assert sample['inputs'].dtype == torch.uint8 and sample['inputs'].shape == (3, 32, 32)
    assert sample['img_path'] == dataset.get_data_info(0)['img_path']
    batch = stack_collate([dataset[i] for i in range(len(dataset))])
    assert batch['inputs'].dtype == torch.uint8 and batch['inputs'].shape == (7, 3, 32, 32)
    assert batch['labels'].dtype == torch.int64 and batch['labels'].tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert batch['img_path'] == [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]


def test_missing_split_folder_is_named(folder):
    assert str(folder / 'test') in one_line_error(lambda: ImageFolder(str(folder), 'test'))


def test_class_folder_without_images_is_named(folder):
    (folder / 'train' / 'bird').mkdir()
    (folder / 'train' / 'bird' / 'readme.txt').write_text('images to come')
    assert str(folder / 'train' / 'bird') in one_line_error(lambda: ImageFolder(str(folder), 'train'))


def test_val_classes_must_be_the_train_classes(folder):
    (folder / 'val' / 'dog').rename(folder / 'val' / 'wolf')
    train_classes = ImageFolder(str(folder), 'train').metainfo['classes']
    for make in (
        lambda: ImageFolder(str(folder), 'val', classes=train_classes),
        lambda: ImageFolder(str(folder), 'val', same_classes_as='train'),
    ):
        message = one_line_error(make)
        assert str(folder / 'val') in message and 'missing: dog' in message and 'unexpected: wolf' in message


def test_given_classes_set_the_label_order(folder):
    dataset = ImageFolder(str(folder), 'val', classes=('dog', 'cat'))
    assert [dataset.get_data_info(i)['label'] for i in range(len(dataset))] == [0, 0, 0, 0, 1, 1, 1]


@pytest.mark.parametrize('pipeline', [[], TRAIN_32], ids=['decoded', 'crop-decoded'])
def test_bad_images_are_named_when_loaded_or_up_front(folder, pipeline):
    garbage = folder / 'train' / 'dog' / '8.jpg'
    garbage.write_bytes(b'not a jpeg')
    truncated = folder / 'train' / 'dog' / '9.jpg'
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:2000])  # the header survives, the image data does not

    dataset = ImageFolder(str(folder), 'train', pipeline=pipeline)  # builds: files are only listed
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    for bad in (garbage, truncated):
        assert str(bad) in one_line_error(lambda bad=bad: dataset[paths.index(str(bad))])
    assert str(garbage) in one_line_error(lambda: ImageFolder(str(folder), 'train', verify_images=True))
    garbage.unlink()
    ImageFolder(str(folder), 'train', verify_images=True)  # a header check: data cut short shows when decoded


@pytest.mark.parametrize('mixed_sizes', [True, False], ids=['list', 'stacked'])
def test_cache_decodes_once_and_gives_the_same_samples(tmp_path, mixed_sizes):
    root = make_folder(tmp_path / 'data', mixed_sizes)
    plain = ImageFolder(str(root), 'train')
    expected = [plain[i]['inputs'] for i in range(len(plain))]
    cached = ImageFolder(str(root), 'train', cache_decoded=True)
    for path in root.rglob('*.*'):
        path.unlink()  # the cache no longer needs the files
    assert all(torch.equal(cached[i]['inputs'], image) for i, image in enumerate(expected))
    subset = cached.get_subset([3, 0])
    assert torch.equal(subset[0]['inputs'], expected[3]) and subset[0]['labels'] == 1


def test_the_decoded_cache_is_decoded_again_under_another_pillow(tmp_path, monkeypatch):
    root = make_folder(tmp_path / 'data', mixed_sizes=False)
    dataset = ImageFolder(str(root), 'train')
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    cache_dir = tmp_path / 'cache'
    first = decode_all(paths, cache_dir)
    assert len(list(cache_dir.iterdir())) == 1
    decode_all(paths, cache_dir)
    assert len(list(cache_dir.iterdir())) == 1  # same files, same Pillow: the cache is read
    monkeypatch.setattr(PIL, '__version__', PIL.__version__ + '.other')  # pyproject pins Pillow: it changes pixels
    assert torch.equal(decode_all(paths, cache_dir), first) and len(list(cache_dir.iterdir())) == 2


def test_a_batch_of_images_of_two_sizes_names_the_odd_file_its_size_and_what_the_pipeline_made(tmp_path):
    """The demo's val split has no pipeline (its crops are stored at size): one 1×1 PNG among them used to end in
    default_collate's 'stack expects each tensor to be equal size'."""
    root = make_folder(tmp_path / 'data', mixed_sizes=False)  # 40×30 images
    odd = root / 'train' / 'dog' / 'tiny.png'
    Image.new('RGB', (1, 1)).save(odd)
    dataset = ImageFolder(str(root), 'train', cache_decoded=True)
    first = dataset.get_data_info(0)['img_path']
    message = one_line_error(lambda: stack_collate([dataset[i] for i in range(len(dataset))]))
    assert message.startswith(f'{odd} (1×1 px) gives 3×1×1 after the pipeline, where {first} (40×30 px) gives 3×30×40')
    cropped = ImageFolder(str(root), 'train', pipeline=[dict(type='tricks.RandomResizedCrop', size=24)])
    batch = stack_collate([cropped[i] for i in range(len(cropped))])
    assert batch['inputs'].shape == (len(cropped), 3, 24, 24) and batch['img_path'][-1] == str(odd)


def test_registered_transforms_default_to_the_paper_values():
    crop = build('RandomResizedCrop')
    assert (crop.size, crop.scale, crop.ratio) == ((224, 224), (0.08, 1.0), (3 / 4, 4 / 3))
    assert build('RandomHorizontalFlip').p == 0.5
    jitter = build('ColorJitter')
    assert jitter.brightness == jitter.contrast == jitter.saturation == (0.6, 1.4) and jitter.hue is None
    assert build('ResizeShorter').size == [256] and build('CenterCrop').size == (224, 224)
    assert build('PCALighting').alpha_std == 0.1
    assert build('RandomResizedCrop', size=32).size == (32, 32)


def test_train_pipeline_keeps_uint8_and_gives_the_crop_size():
    torch.manual_seed(0)
    pipeline = Compose(TRAIN_32)
    for _ in range(10):
        sample = pipeline(dict(inputs=torch.randint(0, 256, (3, 45, 60), dtype=torch.uint8), labels=3))
        assert sample['inputs'].shape == (3, 32, 32) and sample['inputs'].dtype == torch.uint8
        assert sample['labels'] == 3


def test_jitter_factors_are_uniform_in_0_6_to_1_4():
    torch.manual_seed(0)
    grey = torch.full((3, 4, 4), 100, dtype=torch.uint8)
    jitter = build('ColorJitter')
    draws = [jitter.make_params([grey]) for _ in range(500)]
    for key in ('brightness_factor', 'contrast_factor', 'saturation_factor'):
        factors = torch.tensor([draw[key] for draw in draws])
        assert 0.6 <= factors.min() < 0.65 and 1.35 < factors.max() <= 1.4
    brightness_only = build('ColorJitter', contrast=0, saturation=0)
    scaled = torch.tensor([brightness_only(grey)[0, 0, 0].item() for _ in range(200)])
    assert 60 <= scaled.min() < 65 and 135 < scaled.max() <= 140  # brightness multiplies pixels by the factor


@pytest.mark.cpu_kind
def test_color_jitter_gives_torchvision_s_bits():
    """Ours adjusts one float copy; torchvision converts back to uint8 after each adjustment: the same bits."""
    ours, theirs = build('ColorJitter'), v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4)
    generator = torch.Generator().manual_seed(0)
    images = [
        torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator) for shape in ((3, 24, 20), (2, 3, 8, 8))
    ]
    images.append(torch.full((3, 6, 6), 250, dtype=torch.uint8))  # saturates when brightened
    images += [images[1].contiguous(memory_format=torch.channels_last), images[0][:, :, ::2]]  # other layouts
    for seed in range(60):
        for image in images:
            torch.manual_seed(seed)
            mine = ours(image)
            torch.manual_seed(seed)
            assert torch.equal(mine, theirs(image)) and mine.dtype == torch.uint8
    with_hue = build('ColorJitter', hue=0.1)  # hue: torchvision's own code
    torch.manual_seed(0)
    mine = with_hue(images[0])
    torch.manual_seed(0)
    assert torch.equal(mine, v2.ColorJitter(0.4, 0.4, 0.4, hue=0.1)(images[0]))


def test_dct_scale_is_the_coarsest_that_keeps_twice_the_output_size():
    assert dct_scale(447, 2000, 224, 224) == 1 and dct_scale(895, 895, 224, 224) == 1
    assert dct_scale(896, 896, 224, 224) == 2 and dct_scale(1000, 1791, 224, 224) == 2
    assert dct_scale(1792, 2000, 224, 224) == 4 and dct_scale(3584, 3584, 224, 224) == 8
    assert dct_scale(9000, 9000, 224, 224) == 8  # libjpeg scales down by 8 at most
    assert dct_scale(400, 1600, 100, 400) == 2 and dct_scale(399, 1600, 100, 400) == 1  # each side its own size


def write_smooth(path: Path, height: int, width: int, mode: str = 'RGB', **save) -> Path:
    """Low-resolution noise, upsampled: content whose crops differ from each other, as a photo's do."""
    small = np.random.default_rng(height + width).integers(0, 256, (max(2, height // 10), max(2, width // 10), 3))
    Image.fromarray(small.astype(np.uint8)).resize((width, height), Image.BILINEAR).convert(mode).save(path, **save)
    return path


@pytest.mark.cpu_kind
def test_a_pipeline_starting_with_the_crop_decodes_only_the_crop_with_the_same_draws(tmp_path):
    """Decoding the crop straight from the file gives what torchvision's crop of the decoded image gives (PNG: no
    reduced decoding), image for image, in every image mode; the cached path runs torchvision's on the decoded one."""
    for name, mode in (('rgb', 'RGB'), ('grey', 'L'), ('palette', 'P'), ('alpha', 'RGBA')):
        (tmp_path / 'train' / name).mkdir(parents=True)
        for i, (height, width) in enumerate(((90, 120), (200, 64))):
            write_smooth(tmp_path / 'train' / name / f'{i}.png', height, width, mode)
    pipeline = [dict(type='tricks.RandomResizedCrop', size=48)]
    from_files = ImageFolder(str(tmp_path), 'train', pipeline=pipeline)
    decoded_first = ImageFolder(str(tmp_path), 'train', pipeline=pipeline, cache_decoded=True)
    assert from_files._crop_decoder is not None and decoded_first._crop_decoder is None  # two different paths
    for seed in range(10):
        for index in range(len(from_files)):
            torch.manual_seed(seed)
            crop = from_files[index]['inputs']
            torch.manual_seed(seed)
            assert torch.equal(crop, decoded_first[index]['inputs']) and crop.shape == (3, 48, 48)
            assert crop.is_contiguous()


def on_scale_grid(params: dict, scale: int, height: int, width: int) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a drawn crop with its edges moved to the nearest multiple of `scale` (half up)."""
    top, left = math.floor(params['top'] / scale + 0.5) * scale, math.floor(params['left'] / scale + 0.5) * scale
    bottom = min(math.floor((params['top'] + params['height']) / scale + 0.5) * scale, height)
    right = min(math.floor((params['left'] + params['width']) / scale + 0.5) * scale, width)
    assert max(abs(left - params['left']), abs(top - params['top'])) <= scale / 2
    return top, left, bottom - top, right - left


def scaled_crop_differences(paths: list[Path], size: int, seeds: int) -> tuple[list[float], set[int]]:
    """decode_crop vs torchvision's crop of the full decode on the same scale grid: the mean absolute difference of
    each crop decoded at a reduced scale (full-size decodes must be equal), and the scales met. Pillow's `draft` must
    be asked for exactly 1/scale of the image, and only when the scale is not 1."""
    crop = build('RandomResizedCrop', size=size)
    drafts = mock.patch.object(JpegImagePlugin.JpegImageFile, 'draft', autospec=True,
                               side_effect=JpegImagePlugin.JpegImageFile.draft)  # fmt: skip
    differences, scales = [], set()
    for path in paths:
        full = decode_image(path)
        height, width = full.shape[1:]
        for seed in range(seeds):
            torch.manual_seed(seed)
            params = crop.make_params([full])
            scale = dct_scale(params['height'], params['width'], size, size)
            with drafts as draft:
                torch.manual_seed(seed)
                ours = crop.decode_crop(path)
            scales.add(scale)
            if scale == 1:
                draft.assert_not_called()
                assert torch.equal(ours, v2.functional.resized_crop(full, **params, size=[size, size], antialias=True))
                continue
            assert [call.args[2] for call in draft.call_args_list] == [(width // scale, height // scale)]
            box = on_scale_grid(params, scale, height, width)
            on_grid = v2.functional.resized_crop(full, *box, size=[size, size], antialias=True)
            differences.append((ours.float() - on_grid.float()).abs().mean().item())
    return differences, scales


@pytest.mark.cpu_kind
def test_a_jpeg_crop_is_decoded_at_the_coarsest_scale_that_keeps_twice_the_output_size(tmp_path):
    """Where the drawn crop keeps >= 2 x 64 px at 1/2, 1/4 or 1/8 scale, the JPEG is decoded there (Pillow's `draft`),
    and the result is torchvision's crop of the full decode with the box on that scale's grid, up to the difference
    between DCT scaling and an antialiased resize. Full-size decodes are exact."""
    path = write_smooth(tmp_path / 'a.jpg', 600, 800, quality=95)
    differences, scales = scaled_crop_differences([path], size=64, seeds=40)
    assert {1, 2, 4} <= scales  # every case was met
    assert max(differences) < 1.5, differences


@pytest.fixture(scope='module')
def kangaroo_photos(tmp_path_factory) -> list[Path]:
    """The first 12 photos of ../shared's real VOC-layout set (300-1,000 px JPEGs from cameras)."""
    if not KANGAROO.is_file():
        pytest.skip(f'kangaroo archive not found at {KANGAROO}')
    root = tmp_path_factory.mktemp('kangaroo')
    with tarfile.open(KANGAROO) as archive:
        photos = sorted((m for m in archive if m.isfile() and m.name.endswith('.jpg')), key=lambda m: m.name)[:12]
        archive.extractall(root, members=photos, filter='data')
    return [root / photo.name for photo in photos]


@pytest.mark.cpu_kind
def test_jpeg_crops_of_real_photos_decoded_at_a_reduced_scale_stay_within_a_grey_level_or_two(kangaroo_photos):
    """Photos have the fine detail where DCT scaling and an antialiased resize differ most: with the crop kept at
    twice the output size, each reduced-scale crop stays within about a grey level of the full decode's (measured:
    median 0.4-0.5, at most 2.1 over 40 photos), where a box off by one pixel of the scale is several levels away."""
    for size in (32, 64):
        differences, scales = scaled_crop_differences(kangaroo_photos, size=size, seeds=5)
        assert len(differences) >= 10 and scales - {1}, (size, scales)
        assert np.median(differences) < 1.0 and max(differences) < 2.5, (size, differences)


@pytest.mark.cpu_kind
def test_pca_lighting_adds_eigvec_times_alpha_times_eigval():
    alpha = (0.1, -0.2, 0.05)
    by_hand = [sum(IMAGENET_EIGVEC[c][j] * alpha[j] * IMAGENET_EIGVAL[j] for j in range(3)) for c in range(3)]
    np.testing.assert_allclose(by_hand, np.dot(np.array(IMAGENET_EIGVEC) * alpha, IMAGENET_EIGVAL))  # GluonCV's form
    lighting = PCALighting()
    out = lighting.transform(torch.full((3, 2, 2), 128, dtype=torch.uint8), dict(alpha=torch.tensor(alpha)))
    assert out.dtype == torch.uint8
    assert out[:, 0, 0].tolist() == [round(128 + shift) for shift in by_hand] == [124, 125, 125]
    darker, brighter = torch.tensor(alpha), -torch.tensor(alpha)  # every shift is negative for `alpha`
    assert lighting.transform(torch.zeros(3, 1, 1, dtype=torch.uint8), dict(alpha=darker)).sum() == 0
    assert (lighting.transform(torch.full((3, 1, 1), 255, dtype=torch.uint8), dict(alpha=brighter)) == 255).all()
    torch.manual_seed(0)
    alphas = torch.stack([lighting.make_params([])['alpha'] for _ in range(2000)])
    assert abs(alphas.std().item() - 0.1) < 0.01 and abs(alphas.mean().item()) < 0.01
    sample = lighting(dict(inputs=torch.full((3, 2, 2), 128, dtype=torch.uint8), labels=4))
    assert sample['labels'] == 4


@pytest.mark.cpu_kind
def test_val_pipeline_resizes_the_shorter_side_then_center_crops():
    image = torch.randint(0, 256, (3, 32, 48), dtype=torch.uint8)
    out = Compose(VAL_32)(dict(inputs=image, labels=0))['inputs']
    assert torch.equal(out, image[:, :, 8:40])  # the shorter side is 32 already: only the crop acts
    assert build('ResizeShorter', size=32)(torch.zeros(3, 64, 96, dtype=torch.uint8)).shape == (3, 32, 48)
    paper = Compose([dict(type='tricks.ResizeShorter'), dict(type='tricks.CenterCrop')])
    assert paper(dict(inputs=torch.zeros(3, 300, 400, dtype=torch.uint8), labels=0))['inputs'].shape == (3, 224, 224)


@pytest.fixture(scope='module')
def cifar_subset(tmp_path_factory) -> Path:
    """20 images of 3 classes per split, streamed out of the archive (the test split comes first in it)."""
    if not CIFAR.is_file():
        pytest.skip(f'CIFAR-10 archive not found at {CIFAR}')
    root = tmp_path_factory.mktemp('cifar')
    wanted = {(split, name): 20 for split in ('train', 'test') for name in ('bird', 'frog', 'dog')}
    with tarfile.open(CIFAR) as archive:
        for member in archive:
            key = tuple(member.name.split('/')[1:3])
            if member.isfile() and wanted.get(key, 0) > 0:
                archive.extract(member, root, filter='data')
                wanted[key] -= 1
                if not any(wanted.values()):
                    break
    return root / 'cifar10'


def test_cifar10_folders_load_with_the_cache(cifar_subset):
    train = ImageFolder(str(cifar_subset), 'train', verify_images=True)
    test = ImageFolder(str(cifar_subset), 'test', same_classes_as='train', cache_decoded=True, pipeline=VAL_32)
    assert train.metainfo['classes'] == test.metainfo['classes'] == ('bird', 'dog', 'frog')
    batch = default_collate([test[i] for i in range(len(test))])
    assert batch['inputs'].shape == (60, 3, 32, 32) and batch['inputs'].dtype == torch.uint8
    assert batch['labels'].bincount().tolist() == [20, 20, 20]


def augmented_epoch(dataset, sampler, workers: int) -> torch.Tensor:
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=4, sampler=sampler, num_workers=workers, collate_fn=default_collate
    )
    return torch.cat([batch['inputs'] for batch in loader])


def test_seeded_sampler_gives_every_sample_its_own_draws_whatever_the_workers(folder):
    from mmengine.dataset import DefaultSampler

    from cls.data import SeededSampler

    pipeline = [
        dict(type='tricks.RandomResizedCrop', size=16, scale=(0.2, 1.0)),
        dict(type='tricks.RandomHorizontalFlip'),
    ]
    dataset = ImageFolder(str(folder), 'train', pipeline=pipeline)
    seeded = SeededSampler(dataset, shuffle=True, seed=3)
    in_process = augmented_epoch(dataset, seeded, workers=0)
    assert torch.equal(in_process, augmented_epoch(dataset, seeded, workers=2))  # the same crops and flips
    seeded.set_epoch(1)
    assert not torch.equal(in_process, augmented_epoch(dataset, seeded, workers=0))  # another epoch, other draws
    seeded.set_epoch(0)
    assert torch.equal(in_process, augmented_epoch(dataset, seeded, workers=0))  # replayed: a resumed epoch
    # mmengine's sampler (same order): the draws follow the workers' random state, not the sample.
    plain = DefaultSampler(dataset, shuffle=True, seed=3)
    assert not torch.equal(augmented_epoch(dataset, plain, workers=0), augmented_epoch(dataset, plain, workers=2))
