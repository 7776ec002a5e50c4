"""ImageNet-layout folders and the paper's augmentation, for the classifier (torch, torchvision, mmengine, Pillow only).

Batch format. A sample is `dict(inputs=uint8 tensor C x H x W (RGB, 0-255), labels=int, img_path=str)`; with
`collate_fn=dict(type='tricks.stack_collate')` (mmengine's `default_collate` after a size check; mmengine's default is
`pseudo_collate`, which keeps lists) a batch is `dict(inputs=uint8 tensor N x C x H x W, labels=int64 tensor N,
img_path=list)`. Images stay uint8 until the data preprocessor normalises them on the device; the pipeline must give
every image of a batch the same size.

Pipelines (paper §2; sizes are arguments, so 32-px sets use e.g. `size=32` and `ResizeShorter(size=32)`):
    train: [dict(type='tricks.RandomResizedCrop', size=224), dict(type='tricks.RandomHorizontalFlip'),
            dict(type='tricks.ColorJitter'), dict(type='tricks.PCALighting')]
    val:   [dict(type='tricks.ResizeShorter', size=256), dict(type='tricks.CenterCrop', size=224)]
Each is torchvision's v2 transform with the paper's values as defaults (PCALighting is ours); a transform gets the
whole sample dict and changes only `inputs`. Transforms must not modify `inputs` in place: with
`cache_decoded=True` it is the cached tensor. Two are faster than torchvision's and give the same images: a pipeline
that starts with `RandomResizedCrop` decodes only the crop it draws, only as finely as it needs, and `ColorJitter`
adjusts uint8 images in one float buffer.
"""

import contextlib
import hashlib
import json
import math
import os
import random
from collections.abc import Sequence
from itertools import islice
from pathlib import Path
from typing import NamedTuple

import numpy as np
import PIL
import torch
from mmengine.dataset import BaseDataset, Compose, DefaultSampler, default_collate
from mmengine.logging import MMLogger
from PIL import Image
from torchvision.transforms import v2

from backbones.checkpoint import atomic_write
from backbones.errors import ArgTypeError, UserError
from backbones.registry import DATA_SAMPLERS, DATASETS, FUNCTIONS, TRANSFORMS

IMAGE_EXTENSIONS = frozenset({'.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff', '.gif'})  # GIF: 1st frame
# AlexNet's PCA of ImageNet RGB pixels (0-255), as GluonCV uses them: columns of EIGVEC are the eigenvectors.
IMAGENET_EIGVAL = (55.46, 4.794, 1.148)
IMAGENET_EIGVEC = ((-0.5675, 0.7192, 0.4009), (-0.5808, -0.0045, -0.8140), (-0.5836, -0.6948, 0.4203))


def reseed(*key: int, accelerators: bool = True) -> None:
    """Seed python, numpy and torch from `key` (e.g. seed, epoch, index) through numpy's SeedSequence. With
    `accelerators=False` only torch's CPU generator: 1 µs where torch.manual_seed, which seeds every device's, takes
    ~100 µs, too much to pay per sample."""
    state = np.random.SeedSequence([abs(k) for k in key]).generate_state(2)
    random.seed(int(state[0]))
    np.random.seed(int(state[0]))
    seed = int(state[0]) << 32 | int(state[1])
    torch.manual_seed(seed) if accelerators else torch.default_generator.manual_seed(seed)


class Draw(NamedTuple):
    """A sample to load, and the seed and epoch its augmentation's random draws come from (`SeededSampler`)."""

    index: int
    seed: int
    epoch: int


@DATA_SAMPLERS.register_module()
class SeededSampler(DefaultSampler):
    """mmengine's DefaultSampler (same arguments: shuffle, seed, round_up; same order and sharding) whose indices carry
    the sampler's seed and the epoch (`Draw`), so that `ImageFolder` seeds each sample's augmentation from (seed, epoch,
    index). The draws then depend neither on which DataLoader worker loads a sample nor on what it loaded before: the
    same for any number of workers, persistent or not, and replayed exactly by a run resumed at an epoch's start."""

    skip = 0  # indices the next epoch leaves out: a resume in the middle of an epoch (engine.preemption)

    def __iter__(self):
        skip, self.skip = self.skip, 0
        return (Draw(index, self.seed, self.epoch) for index in islice(super().__iter__(), skip, None))


class ImageFolderError(UserError):
    """A problem with an image folder, in one line that names the file or folder."""


def find_classes(split_dir: Path, expected: Sequence[str] | None = None) -> list[str]:
    """Class names = sorted sub-folder names; with `expected`, the folders must be exactly those (order kept)."""
    if not split_dir.is_dir():
        raise ImageFolderError(f'{split_dir}: split folder not found')
    found = sorted(d.name for d in split_dir.iterdir() if d.is_dir() and not d.name.startswith('.'))
    if not found:
        raise ImageFolderError(f'{split_dir}: no class folders')
    if expected is None:
        return found
    missing, unexpected = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or unexpected:
        raise ImageFolderError(
            f'{split_dir}: class folders differ from the expected classes '
            f'(missing: {", ".join(missing) or "-"}; unexpected: {", ".join(unexpected) or "-"})'
        )
    return list(expected)


def list_images(class_dir: Path) -> tuple[list[Path], list[Path]]:
    """(image files, other files) under a class folder, sorted; dot-files (e.g. macOS `._x.jpg` forks) are neither."""
    files = sorted(p for p in class_dir.rglob('*') if not p.name.startswith('.') and p.is_file())
    images = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    if not images:
        raise ImageFolderError(f'{class_dir}: class folder has no images ({", ".join(sorted(IMAGE_EXTENSIONS))})')
    return images, [p for p in files if p.suffix.lower() not in IMAGE_EXTENSIONS]


def verify_image(path: str | Path) -> None:
    """Cheap up-front check that the header parses (PNG: its checksums too); JPEG data cut short shows when decoded."""
    try:
        with Image.open(path) as image:
            image.verify()
    except Exception as err:  # Pillow raises many types (OSError, SyntaxError, struct.error, ...) for bad files
        raise ImageFolderError(f'{path}: not a readable image ({type(err).__name__}: {err})') from None


@contextlib.contextmanager
def open_image(path: str | Path):
    """Pillow's image of `path`, read from its header and decoded when used; a failure to read or decode it, in the
    block, is one ImageFolderError naming the file."""
    try:
        with Image.open(path) as image:
            yield image
    except Exception as err:  # as in verify_image
        raise ImageFolderError(f'{path}: cannot decode image ({type(err).__name__}: {err})') from None


def decode_image(path: str | Path) -> torch.Tensor:
    """RGB uint8 tensor C x H x W (grey, palette and alpha images are converted to RGB)."""
    with open_image(path) as image:
        rgb = np.array(image.convert('RGB'))
    return torch.from_numpy(rgb).permute(2, 0, 1).contiguous()


def default_cache_dir() -> Path:
    """`$TRICKS_CACHE/decoded`: the per-user cache root that tools/env.sh sets up and exports (same default)."""
    xdg_cache = Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache')
    return Path(os.environ.get('TRICKS_CACHE') or xdg_cache / 'bag-of-tricks') / 'decoded'


def decode_all(paths: Sequence[str], cache_dir: str | Path | None = None) -> torch.Tensor | list[torch.Tensor]:
    """Every image decoded: one stacked uint8 N×C×H×W tensor when all share a size, else a list. With `cache_dir`
    ('auto': `default_cache_dir()`), the result is kept there as plain tensors, named after a hash of the files'
    paths, sizes and modification times and of Pillow's version (a release may decode other pixels), so the next run
    loads it instead of decoding; a changed file or Pillow misses."""
    cache_file = None
    if cache_dir is not None:
        stats = [(os.path.abspath(p), st.st_size, st.st_mtime_ns) for p, st in ((p, os.stat(p)) for p in paths)]
        key = hashlib.sha256(json.dumps(dict(pillow=PIL.__version__, files=stats)).encode()).hexdigest()[:20]
        cache_file = Path(default_cache_dir() if cache_dir == 'auto' else cache_dir) / f'{key}.pt'
        if cache_file.is_file():
            try:
                return torch.load(cache_file, weights_only=True)['images']
            except Exception as err:  # a cache written by another torch, or damaged: decode again and replace it
                MMLogger.get_current_instance().warning(f'{cache_file}: unreadable cache ({err}); decoding again')
    images = [decode_image(path) for path in paths]
    images = torch.stack(images) if len({image.shape for image in images}) == 1 else images
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(str(cache_file), lambda tmp: torch.save(dict(images=images), tmp))
    return images


@DATASETS.register_module()
class ImageFolder(BaseDataset):
    """`data_root/<split>/<class>/*.<image extension>`, checked when built so a bad set fails before training.

    Args:
        data_root: folder holding the split folders.
        split: sub-folder to read, e.g. 'train', 'val' (CIFAR-10's archive: 'test').
        classes: the expected class names, in label order (e.g. the train set's `metainfo['classes']`).
        same_classes_as: a sibling split whose class folders this split must have, e.g. 'train' for a val set in a
            config, where the train set's object is not at hand.
        max_per_class: read only the first N images (in sorted order) of each class: a fixed, balanced part of a set,
            e.g. for a quick ladder.
        verify_images: check every file's header when built (cheap on small sets); otherwise a bad file is named
            when it is loaded.
        cache_decoded: decode every image once into memory when built (one stacked uint8 tensor when all images
            share a size, as CIFAR-10's 32x32 do), so epochs skip decoding.
        cache_dir: with `cache_decoded`, also keep the decoded images on disk there ('auto': `default_cache_dir()`),
            so the next run starts without decoding (`decode_all`).
        **kwargs: mmengine BaseDataset's (pipeline, indices, serialize_data, test_mode, max_refetch).
    """

    def __init__(
        self,
        data_root: str,
        split: str = 'train',
        classes: Sequence[str] | None = None,
        same_classes_as: str | None = None,
        max_per_class: int | None = None,
        verify_images: bool = False,
        cache_decoded: bool = False,
        cache_dir: str | None = None,
        **kwargs,
    ):
        if classes is not None and same_classes_as is not None:
            raise ImageFolderError('ImageFolder: give classes or same_classes_as, not both')
        self.split_dir = Path(data_root) / split
        if same_classes_as is not None:
            classes = find_classes(Path(data_root) / same_classes_as)
        if max_per_class is not None and not (isinstance(max_per_class, int) and max_per_class > 0):
            raise ImageFolderError(f'ImageFolder: max_per_class must be a whole number > 0, got {max_per_class!r}')
        self.max_per_class = max_per_class
        self.verify_images = verify_images
        self.cache_decoded = cache_decoded
        self.cache_dir = cache_dir
        self._decoded: torch.Tensor | list[torch.Tensor] = []
        super().__init__(
            data_root=data_root, metainfo=dict(classes=tuple(find_classes(self.split_dir, classes))), **kwargs
        )
        first, *rest = self.pipeline.transforms or [None]
        # A pipeline that starts with our RandomResizedCrop reads its crop straight from the file (`decode_crop`).
        self._crop_decoder = first if isinstance(first, RandomResizedCrop) and not cache_decoded else None
        self._after_crop = Compose(rest)

    def __getitem__(self, idx: int | Draw) -> dict:
        """`idx` from a plain sampler, or a `Draw` from `SeededSampler`: its augmentation seeded from (seed, epoch,
        index)."""
        if isinstance(idx, Draw):  # a DataLoader worker, or the main process: the CPU generator is the one drawn from
            reseed(idx.seed, idx.epoch, idx.index, accelerators=False)
            idx = idx.index
        return super().__getitem__(idx)

    def load_data_list(self) -> list[dict]:
        data_list, skipped = [], []
        for label, name in enumerate(self.metainfo['classes']):
            images, others = list_images(self.split_dir / name)
            data_list += [dict(img_path=str(path), label=label) for path in images[: self.max_per_class]]
            skipped += others
        if skipped:
            MMLogger.get_current_instance().warning(
                f'{self.split_dir}: {len(skipped)} files whose extension is no image format were skipped '
                f'(images: {", ".join(sorted(IMAGE_EXTENSIONS))}), e.g. {skipped[0]}'
            )
        if self.verify_images:
            for info in data_list:
                verify_image(info['img_path'])
        if self.cache_decoded:
            self._decoded = decode_all([info['img_path'] for info in data_list], self.cache_dir)
            for index, info in enumerate(data_list):
                info['cache_index'] = index  # survives `indices`/get_subset, which reorder data_list
        return data_list

    def prepare_data(self, idx: int) -> dict:
        """inputs and labels, and the file's path (for `stack_collate`'s message; the data preprocessor drops it)."""
        info = self.get_data_info(idx)
        if self._crop_decoder is not None:
            sample = self._after_crop(
                dict(inputs=self._crop_decoder.decode_crop(info['img_path']), labels=info['label'])
            )
        else:
            image = self._decoded[info['cache_index']] if self.cache_decoded else decode_image(info['img_path'])
            sample = self.pipeline(dict(inputs=image, labels=info['label']))
        return sample | dict(img_path=info['img_path'])


@FUNCTIONS.register_module()
def stack_collate(samples: Sequence[dict]) -> dict:
    """mmengine's `default_collate` (inputs stacked into one uint8 batch), after checking that the samples share one
    size: the first of another size than the first sample's is named in one line (file, its size, what the split's
    pipeline made of it), instead of torch's 'stack expects each tensor to be equal size'."""
    shapes = [tuple(sample['inputs'].shape) for sample in samples]
    odd = next((i for i, shape in enumerate(shapes) if shape != shapes[0]), None)
    if odd is not None:

        def described(sample: dict, shape: tuple) -> str:
            with open_image(sample['img_path']) as image:  # the header only
                size = '×'.join(map(str, image.size))
            return f'{sample["img_path"]} ({size} px) gives {"×".join(map(str, shape))}'

        raise ImageFolderError(
            f'{described(samples[odd], shapes[odd])} after the pipeline, where {described(samples[0], shapes[0])}: '
            'a batch needs one size; give the split a pipeline that resizes or crops to one (e.g. tricks.ResizeShorter '
            '+ tricks.CenterCrop)'
        )
    return default_collate(samples)


@TRANSFORMS.register_module()
class PCALighting(v2.Transform):
    """AlexNet's lighting noise, which torchvision lacks: every pixel gets EIGVEC @ (alpha * EIGVAL), alpha ~ N(0, std).

    GluonCV's RandomLighting on 0-255 RGB (`rgb = np.dot(eigvec * alpha, eigval)`); uint8 in, rounded uint8 out.
    """

    _transformed_types = (torch.Tensor,)

    def __init__(self, alpha_std: float = 0.1):
        super().__init__()
        self.alpha_std = alpha_std
        self.eigvec, self.eigval = torch.tensor(IMAGENET_EIGVEC), torch.tensor(IMAGENET_EIGVAL)

    def make_params(self, flat_inputs: list) -> dict:
        return dict(alpha=torch.randn(3) * self.alpha_std)

    def transform(self, inpt: torch.Tensor, params: dict) -> torch.Tensor:
        if inpt.dtype != torch.uint8:
            raise ArgTypeError(f'PCALighting expects uint8 images on 0-255, got {inpt.dtype}')
        shift = self.eigvec @ (params['alpha'] * self.eigval)
        return (inpt + shift[:, None, None]).round().clamp(0, 255).to(torch.uint8)


def dct_scale(crop_height: int, crop_width: int, height: int, width: int) -> int:
    """The coarsest of libjpeg's DCT scales (1/8, 1/4, 1/2) at which a crop still has at least twice `height` x
    `width` pixels, else 1. Shrunk from there by 2x or more with an antialiased resize, it is close to the crop of a
    full-size decode (Pillow's own rule for `thumbnail`, reducing_gap=2); decoded right down to the output size, the
    DCT's filter would show (several grey levels on photos)."""
    return next((s for s in (8, 4, 2) if crop_height // s >= 2 * height and crop_width // s >= 2 * width), 1)


def _nearest(x: float) -> int:
    """Round half up (Python's round() goes to even, which could lose a row at both edges of a box)."""
    return math.floor(x + 0.5)


@TRANSFORMS.register_module(name='RandomResizedCrop')
class RandomResizedCrop(v2.RandomResizedCrop):
    """torchvision's RandomResizedCrop with the paper's defaults (area 8-100 %, aspect 3/4-4/3), which can also read
    its crop straight from an image file (`decode_crop`); `ImageFolder` has it do so when it starts the pipeline."""

    def __init__(self, size=224, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), **kwargs):
        super().__init__(size, scale=scale, ratio=ratio, **kwargs)

    def decode_crop(self, path: str | Path) -> torch.Tensor:
        """The crop of the file's image, resized: the same draws as for the decoded image (they need only its size,
        read from the header), and the same pixels where the file is decoded at full size. A JPEG is decoded at the
        coarsest DCT scale that keeps the crop at least twice the output size (`dct_scale`, Pillow's `draft`); the
        crop's edges then lie on that scale's pixel grid, moved by at most half a pixel there (at most 1 / (4 x size)
        of the crop). Only the crop's pixels leave Pillow, and they are resized in channels-last layout, where torch's
        antialiased uint8 resize is fastest (docs/benchmarks.md, figure 2)."""
        with open_image(path) as image:
            params = self.make_params([image])
            top, left, height, width = (params[key] for key in ('top', 'left', 'height', 'width'))
            full_width, wanted = image.width, dct_scale(height, width, *self.size)
            drafted = image.draft('RGB', (image.width // wanted, image.height // wanted)) if wanted > 1 else None
            scale = full_width / drafted[1][2] if drafted else 1  # the scale Pillow will decode at (not a JPEG: 1)
            rgb = image if image.mode == 'RGB' else image.convert('RGB')
            x0, y0 = min(_nearest(left / scale), rgb.width - 1), min(_nearest(top / scale), rgb.height - 1)
            x1 = min(max(_nearest((left + width) / scale), x0 + 1), rgb.width)
            y1 = min(max(_nearest((top + height) / scale), y0 + 1), rgb.height)
            crop = torch.from_numpy(np.array(rgb.crop((x0, y0, x1, y1)))).permute(2, 0, 1)  # H x W x C in memory
        resized = v2.functional.resize(crop, list(self.size), self.interpolation, antialias=self.antialias)
        return resized.contiguous()


@TRANSFORMS.register_module(name='ColorJitter')
class ColorJitter(v2.ColorJitter):
    """torchvision's ColorJitter with the paper's strengths (brightness, contrast, saturation 0.4, no hue). On uint8
    RGB tensors the adjustments run on one float32 copy, with torchvision's arithmetic and its truncation to whole
    values after each, so the result is torchvision's to the bit without a conversion per adjustment."""

    def __init__(self, brightness=0.4, contrast=0.4, saturation=0.4, hue=None):
        super().__init__(brightness, contrast, saturation, hue)

    def transform(self, inpt, params: dict):
        uint8_rgb = type(inpt) is torch.Tensor and inpt.dtype == torch.uint8 and inpt.shape[-3] == 3
        if not uint8_rgb or params['hue_factor'] is not None:  # torchvision's own way
            return super().transform(inpt, params)
        image = inpt.float()
        for fn_id in params['fn_idx'].tolist():
            if fn_id == 0 and params['brightness_factor'] is not None:
                image.mul_(params['brightness_factor'])
            elif fn_id == 1 and params['contrast_factor'] is not None:
                factor = params['contrast_factor']
                mean = torch.mean(_floored_grey(image), dim=(-3, -2, -1), keepdim=True)
                image.mul_(factor).add_(mean, alpha=1.0 - factor)
            elif fn_id == 2 and params['saturation_factor'] is not None:
                factor, grey = params['saturation_factor'], _floored_grey(image)
                image.mul_(factor).add_(grey, alpha=1.0 - factor)
            else:
                continue
            image.clamp_(0, 255).floor_()
        return image.to(torch.uint8)


def _floored_grey(image: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma of float RGB (... x 3 x H x W), 1 channel, floored: torchvision's grey of a uint8 image."""
    r, g, b = image.unbind(dim=-3)
    return r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114).floor_().unsqueeze(dim=-3)


def _register_with_paper_defaults(name: str, transform: type, **paper_defaults) -> None:
    """Register torchvision's transform under our scope with the paper's values as defaults (a config may override)."""

    def build(**kwargs) -> v2.Transform:
        return transform(**{**paper_defaults, **kwargs})

    build.__doc__ = f'torchvision.transforms.v2.{transform.__name__} with defaults {paper_defaults}.'
    TRANSFORMS.register_module(name=name, module=build)


_register_with_paper_defaults('RandomHorizontalFlip', v2.RandomHorizontalFlip, p=0.5)
_register_with_paper_defaults('ResizeShorter', v2.Resize, size=256)  # an int size resizes the shorter side
_register_with_paper_defaults('CenterCrop', v2.CenterCrop, size=224)
