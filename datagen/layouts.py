"""Tiny made-up data sets in the full-scale layouts the paper's configs read, with real-looking names.

Why: a preflight (tools/preflight.py) or a rehearsal of the paper's ladder must meet the layouts of ImageNet,
VOC07+12 and ADE20K exactly, without the 160 GB of them. The scenes are demo_world's (images that decode, boxes and
label maps that agree), written under ROOT as:
  imagenet/{train,val}/<wnid>/<wnid>_<k>.JPEG and ILSVRC2012_val_<k>.JPEG       tricks.ImageFolder (configs/cls)
  VOCdevkit/VOC{2007,2012}/{JPEGImages/*.jpg,Annotations/*.xml,ImageSets/Main/<split>.txt}   VOC2007 trainval and
      test, VOC2012 trainval: the RepeatDataset(ConcatDataset) of configs/det/_base_/voc0712.py
  ade/ADEChallengeData2016/{images,annotations}/{training,validation}/ADE_{train,val}_<k>.{jpg,png}   labels 0..150
      (0 = other, as ADE20K's), configs/seg/_base_/ade20k.py
A ladder config points its `data_roots` at `make_layouts(...)`'s result.
"""

import dataclasses
import shutil
from pathlib import Path

from .demo_world import THING_CLASSES, _jpeg, _png, _write, render_scene, scene_rng, voc_annotation

# Real ImageNet wnids (tench, goldfish, great white shark, tiger shark, hammerhead), enough for a handful of classes.
IMAGENET_WNIDS = ('n01440764', 'n01443537', 'n01484850', 'n01491361', 'n01494475')
# demo_world's thing classes written as VOC class names, so that the VOC configs' 20 classes keep every object.
VOC_NAMES = dict(
    zip(THING_CLASSES, ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair'), strict=True)
)
VOC_SPLITS = (('VOC2007', 'trainval'), ('VOC2007', 'test'), ('VOC2012', 'trainval'))
ADE_SPLITS = (('training', 'ADE_train'), ('validation', 'ADE_val'))
DATA_ROOTS = dict(cls='imagenet', det='VOCdevkit', seg='ade/ADEChallengeData2016')  # task → folder under ROOT


def _scene(seed: int, split: str, index: int, size: int):
    # demo_world's streams are keyed by its two splits; the other layouts' splits reuse them at other indices.
    return render_scene(
        scene_rng(seed, 'train' if split == 'train' else 'val', index), size, first_class=index % len(THING_CLASSES)
    )


def _write_imagenet(root: Path, count: int, classes: int, seed: int, size: int) -> None:
    for split in ('train', 'val'):
        for k in range(count):
            wnid = IMAGENET_WNIDS[k % classes]
            name = f'{wnid}_{k + 1}.JPEG' if split == 'train' else f'ILSVRC2012_val_{k + 1:08d}.JPEG'
            _write(root / split / wnid / name, _jpeg(_scene(seed, split, k, size).image))


def _write_voc(root: Path, count: int, seed: int, size: int) -> None:
    for index, (year, split) in enumerate(VOC_SPLITS):
        stems = []
        for k in range(count):
            stem = f'{k + 1 + index * count:06d}' if year == 'VOC2007' else f'2008_{k + 1:06d}'
            scene = _scene(seed, 'val', 1000 * (index + 1) + k, size)
            scene = dataclasses.replace(
                scene, things=[dataclasses.replace(t, name=VOC_NAMES[t.name]) for t in scene.things]
            )
            _write(root / year / 'JPEGImages' / f'{stem}.jpg', _jpeg(scene.image))
            _write(root / year / 'Annotations' / f'{stem}.xml', voc_annotation(stem, scene))
            stems.append(stem)
        _write(root / year / 'ImageSets' / 'Main' / f'{split}.txt', ''.join(f'{s}\n' for s in stems).encode())


def _write_ade(root: Path, count: int, seed: int, size: int) -> None:
    for index, (split, prefix) in enumerate(ADE_SPLITS):
        for k in range(count):
            scene = _scene(seed, 'val', 5000 * (index + 1) + k, size)
            stem = f'{prefix}_{k + 1:08d}'
            _write(root / 'images' / split / f'{stem}.jpg', _jpeg(scene.image))
            _write(root / 'annotations' / split / f'{stem}.png', _png(scene.seg))  # 0..13 ⊂ ADE's 0..150


def make_layouts(
    root: str | Path, images_per_split: int = 6, imagenet_classes: int = 3, seed: int = 0, image_size: int = 160
) -> dict[str, str]:
    """Write the three layouts under `root` (replacing earlier ones there) and return the data roots by task
    (`cls`, `det`, `seg`), as a ladder config's `data_roots` takes them. Every split has `images_per_split` images;
    ImageNet's are spread over its first `imagenet_classes` wnids. At the default 160 px most boxes pass the VOC
    configs' bbox_min_size=32."""
    if not 1 <= imagenet_classes <= len(IMAGENET_WNIDS):
        raise ValueError(f'imagenet_classes must be 1..{len(IMAGENET_WNIDS)}, got {imagenet_classes}')
    if images_per_split < imagenet_classes:
        raise ValueError(f'images_per_split={images_per_split} leaves some of the {imagenet_classes} classes empty')
    root = Path(root)
    roots = {task: root / folder for task, folder in DATA_ROOTS.items()}
    for path in roots.values():
        shutil.rmtree(path, ignore_errors=True)
    _write_imagenet(roots['cls'], images_per_split, imagenet_classes, seed, image_size)
    _write_voc(roots['det'], images_per_split, seed, image_size)
    _write_ade(roots['seg'], images_per_split, seed, image_size)
    return {task: str(path) for task, path in roots.items()}
