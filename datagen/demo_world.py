"""A small synthetic world whose scenes are written as classification crops, Pascal VOC and ADE20K at once.

Why: the embedded ladder must train a classifier and transfer it to Faster R-CNN and FCN in minutes on a CPU,
with no download, on data whose three label sets agree. Each scene is drawn from its own numpy Generator seeded by
(seed, split, index), so a run is byte-identical for a seed and a smaller run is a prefix of a larger one.

A scene: 2-3 "stuff" regions (procedural textures) under 1-4 "thing" objects. A thing class is a (shape, pattern)
pair and every shape and every pattern belongs to more than one class, so neither cue alone decides. Nuisances:
random colours, scale, rotation, pattern period, shading, partial occlusion (each object keeps >= 60 % of its
area visible), then per-scene contrast/brightness, blur and noise.

Layouts under OUT_DIR (same file stem `<split>_<index>` everywhere):
  cls/{train,val}/<thing>/<stem>_<k>.png       object k's visible box with context, 48x48 (ImageNet folder layout)
  voc/VOC2007/{JPEGImages,Annotations,ImageSets/Main/{trainval,test}.txt}   tricks.VOCDataset, 1-based boxes
  ade/{images,annotations}/{training,validation}/<stem>.{jpg,png}   0 = ignore (object outlines), 1.. = SEG_CLASSES;
      ADE layout: tricks.ADEFormatDataset(metainfo=dict(classes=SEG_CLASSES)), or mmseg's BaseSegDataset with
      reduce_zero_label=True (ADE20KDataset only accepts subsets of ADE's 150 names)
  meta.json                                    classes, counts per split, seed, generator version
"""

import io
import json
import math
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

VERSION = 2  # 2: 48-px crops (1: 32 px)
# (shape, pattern) of each thing class.
THINGS = (
    ('disc', 'striped'),
    ('disc', 'dotted'),
    ('square', 'checkered'),
    ('square', 'striped'),
    ('triangle', 'plain'),
    ('triangle', 'dotted'),
    ('cross', 'checkered'),
    ('ring', 'plain'),
    ('star', 'striped'),
)
THING_CLASSES = tuple(f'{pattern}_{shape}' for shape, pattern in THINGS)
STUFF_CLASSES = ('gradient', 'speckle', 'blotches', 'waves')  # textures below
SEG_CLASSES = STUFF_CLASSES + THING_CLASSES  # segmentation label = index + 1; 0 is ignored
SPLITS = ('train', 'val')
VOC_SPLITS = {'train': 'trainval', 'val': 'test'}
ADE_SPLITS = {'train': 'training', 'val': 'validation'}
LAYOUTS = ('cls', 'voc', 'ade', 'meta.json')

CROP_SIZE = 48  # at 32 px a stride-32 ResNet ends in a 1x1 map, fed through variant b's strided
# shortcuts by one corner pixel: B-standard reached 24 % top-1 there (D 59 %), 50 % here
CROP_CONTEXT = 1.3  # crop side / longer side of the visible box
MIN_VISIBLE = 0.6  # fraction of an object's area later objects may not cover
OBJECT_COUNT_PROBS = (0.1, 0.2, 0.3, 0.4)  # for 1, 2, 3, 4 objects: about 3 crops per scene
JPEG_QUALITY = 90
REFERENCE_SIZE = 96  # geometry below is in pixels at this image size and scales with it


@dataclass(frozen=True)
class Thing:
    name: str
    box: tuple[int, int, int, int]  # visible extent: x0, y0, x1, y1, 0-based, inclusive


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # H x W x 3 uint8 RGB
    seg: np.ndarray  # H x W uint8: 0 ignore, i + 1 for SEG_CLASSES[i]
    things: list[Thing]


def scene_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """One independent stream per scene: counts can change without changing the scenes they share."""
    return np.random.default_rng([seed, SPLITS.index(split), index])


# Shapes: signed distance (negative inside) in units of the object radius, at local coordinates u, v.
def _disc(u, v):
    return np.hypot(u, v) - 1


def _square(u, v):
    return np.maximum(abs(u), abs(v)) - 0.8


def _triangle(u, v):
    normals = [(math.cos(a), math.sin(a)) for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
    return np.max([nu * u + nv * v for nu, nv in normals], axis=0) - 0.5


def _cross(u, v):
    return np.minimum(np.maximum(abs(u) - 1, abs(v) - 0.33), np.maximum(abs(u) - 0.33, abs(v) - 1))


def _ring(u, v):
    return abs(np.hypot(u, v) - 0.7) - 0.3


def _star(u, v):
    spike = abs(2 * ((np.arctan2(v, u) * 5 / (2 * math.pi)) % 1) - 1)  # 1 at the five tips, 0 between them
    return 0.8 * (np.hypot(u, v) - (0.45 + 0.55 * spike))


SHAPES = {'disc': _disc, 'square': _square, 'triangle': _triangle, 'cross': _cross, 'ring': _ring, 'star': _star}


# Patterns: mix between an object's two colours in [0, 1], at local pixel coordinates u, v and period p.
def _plain(u, v, p):
    return np.zeros_like(u)


def _striped(u, v, p):
    return np.clip(2 * np.sin(2 * math.pi * u / p) + 0.5, 0, 1)


def _checkered(u, v, p):
    return np.clip(3 * np.sin(2 * math.pi * u / p) * np.sin(2 * math.pi * v / p) + 0.5, 0, 1)


def _dotted(u, v, p):
    lattice = 1.4 * p
    return np.clip(0.3 * lattice - np.hypot(u % lattice - lattice / 2, v % lattice - lattice / 2) + 0.5, 0, 1)


PATTERNS = {'plain': _plain, 'striped': _striped, 'checkered': _checkered, 'dotted': _dotted}


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5  # pixel centres
    return xx, yy


def _rotate(dx, dy, angle):
    c, s = math.cos(angle), math.sin(angle)
    return c * dx + s * dy, c * dy - s * dx


def _smooth_noise(rng, cells: int, size: int) -> np.ndarray:
    """Value noise in [0, 1] with about `cells` blobs across the image."""
    coarse = Image.fromarray(rng.random((cells, cells), dtype=np.float32))
    field = np.asarray(coarse.resize((size, size), Image.BICUBIC))
    return (field - field.min()) / max(float(np.ptp(field)), 1e-6)


def _colour_pair(rng, min_contrast: float) -> tuple[np.ndarray, np.ndarray]:
    """Two random RGB colours whose luminance differs by at least `min_contrast`, so a pattern stays visible."""
    luma = np.array([0.299, 0.587, 0.114])
    while True:
        a, b = rng.uniform(0, 255, (2, 3)).astype(np.float32)
        if abs(luma @ (a - b)) >= min_contrast:
            return a, b


# Stuff textures: mix between a region's two colours in [0, 1] over the whole image.
def _gradient(rng, xx, yy, size):
    u, _ = _rotate(xx, yy, rng.uniform(0, 2 * math.pi))
    return (u - u.min()) / np.ptp(u)


def _speckle(rng, xx, yy, size):
    return _smooth_noise(rng, size // 2, size)


def _blotches(rng, xx, yy, size):
    return _smooth_noise(rng, int(rng.integers(3, 7)), size)


def _waves(rng, xx, yy, size):
    scale = size / REFERENCE_SIZE
    u, v = _rotate(xx, yy, rng.uniform(0, 2 * math.pi))
    wobble = rng.uniform(2, 6) * scale * np.sin(2 * math.pi * v / (rng.uniform(20, 40) * scale))
    return 0.5 + 0.5 * np.sin(2 * math.pi * (u + wobble) / (rng.uniform(8, 16) * scale))


STUFF_TEXTURES = {'gradient': _gradient, 'speckle': _speckle, 'blotches': _blotches, 'waves': _waves}


def _background(rng, xx, yy, size: int) -> tuple[np.ndarray, np.ndarray]:
    """2-3 stuff regions: a Voronoi partition on smoothly warped coordinates, one texture per region."""
    stuff = rng.choice(len(STUFF_CLASSES), size=int(rng.integers(2, 4)), replace=False)
    seeds = rng.uniform(0, size, (len(stuff), 2))
    warp = 0.3 * size
    wx = xx + warp * (_smooth_noise(rng, 4, size) - 0.5)
    wy = yy + warp * (_smooth_noise(rng, 4, size) - 0.5)
    region = np.argmin([(wx - sx) ** 2 + (wy - sy) ** 2 for sx, sy in seeds], axis=0)
    image = np.zeros((size, size, 3), np.float32)
    for k, s in enumerate(stuff):
        mix = STUFF_TEXTURES[STUFF_CLASSES[s]](rng, xx, yy, size)
        a, b = _colour_pair(rng, min_contrast=30)
        inside = region == k
        image[inside] = (a + (b - a) * mix[..., None])[inside]
    return image, (stuff[region] + 1).astype(np.uint8)


def _place_object(rng, shape: str, xx, yy, size: int, visible: list[np.ndarray], areas: list[float], tries=20):
    """Coverage (anti-aliased alpha) and geometry of an object that leaves every earlier one >= MIN_VISIBLE visible."""
    scale = size / REFERENCE_SIZE
    for _ in range(tries):
        radius = rng.uniform(7, 19) * scale
        cx, cy = rng.uniform(radius + 1, size - radius - 1, 2)
        u, v = _rotate(xx - cx, yy - cy, rng.uniform(0, 2 * math.pi))
        alpha = np.clip(0.5 - SHAPES[shape](u / radius, v / radius) * radius, 0, 1)
        if all((vis * (1 - alpha)).sum() >= MIN_VISIBLE * area for vis, area in zip(visible, areas)):
            return alpha, (cx, cy, radius)
    return None


def _paint_object(rng, pattern: str, geometry, xx, yy, size: int) -> np.ndarray:
    cx, cy, radius = geometry
    u, v = _rotate(xx - cx, yy - cy, rng.uniform(0, 2 * math.pi))
    mix = PATTERNS[pattern](u, v, rng.uniform(4, 7) * size / REFERENCE_SIZE)
    a, b = _colour_pair(rng, min_contrast=70)
    shade = 1 + 0.25 * _rotate(xx - cx, yy - cy, rng.uniform(0, 2 * math.pi))[0] / radius
    return (a + (b - a) * mix[..., None]) * shade[..., None]


def _outline(instance: np.ndarray) -> np.ndarray:
    """Both pixels of every neighbouring pair with different instances (background counts as one): object edges."""
    edge = np.zeros(instance.shape, bool)
    for axis in (0, 1):
        differs = np.diff(instance, axis=axis) != 0
        lo = [slice(None)] * 2
        hi = [slice(None)] * 2
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        edge[tuple(lo)] |= differs
        edge[tuple(hi)] |= differs
    return edge


def _degrade(rng, image: np.ndarray) -> np.ndarray:
    """Per-scene contrast/brightness, optional blur, sensor noise."""
    mean = image.mean()
    image = (image - mean) * rng.uniform(0.6, 1.3) + mean + rng.uniform(-30, 30)
    pixels = Image.fromarray(np.clip(image, 0, 255).round().astype(np.uint8))
    if rng.random() < 0.5:
        pixels = pixels.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.2)))
    noisy = np.asarray(pixels, np.float32) + rng.normal(0, rng.uniform(0, 12), (*image.shape[:2], 3))
    return np.clip(noisy, 0, 255).round().astype(np.uint8)


def render_scene(rng: np.random.Generator, size: int = REFERENCE_SIZE, first_class: int | None = None) -> Scene:
    """Draw one scene. `first_class` fixes the first object's class so every split of >= 9 scenes has every class."""
    xx, yy = _grid(size)
    image, seg = _background(rng, xx, yy, size)
    instance = np.full((size, size), -1, np.int16)
    classes, visible, areas = [], [], []
    for k in range(rng.choice(len(OBJECT_COUNT_PROBS), p=OBJECT_COUNT_PROBS) + 1):
        cls = first_class if k == 0 and first_class is not None else int(rng.integers(len(THINGS)))
        shape, pattern = THINGS[cls]
        placed = _place_object(rng, shape, xx, yy, size, visible, areas)
        if placed is None:
            continue
        alpha, geometry = placed
        image = image * (1 - alpha[..., None]) + _paint_object(rng, pattern, geometry, xx, yy, size) * alpha[..., None]
        visible = [vis * (1 - alpha) for vis in visible] + [alpha]
        areas.append(float(alpha.sum()))
        covered = alpha >= 0.5
        seg[covered] = len(STUFF_CLASSES) + cls + 1
        instance[covered] = len(classes)
        classes.append(cls)
    things = []
    for k, cls in enumerate(classes):
        ys, xs = np.nonzero(instance == k)
        things.append(Thing(THING_CLASSES[cls], (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()))))
    seg[_outline(instance)] = 0
    return Scene(_degrade(rng, image), seg, things)


def crop_thing(image: np.ndarray, box: tuple[int, int, int, int], size: int = CROP_SIZE) -> np.ndarray:
    """A square crop around the box with CROP_CONTEXT context, resized to size x size (reflection beyond the edges)."""
    x0, y0, x1, y1 = box
    side = CROP_CONTEXT * max(x1 - x0 + 1, y1 - y0 + 1)
    pad = math.ceil(side)
    padded = Image.fromarray(np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode='reflect'))
    cx, cy = (x0 + x1 + 1) / 2 + pad, (y0 + y1 + 1) / 2 + pad
    region = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    return np.asarray(padded.resize((size, size), Image.BILINEAR, box=region))


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format='PNG')
    return buffer.getvalue()


def _jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format='JPEG', quality=JPEG_QUALITY)
    return buffer.getvalue()


def voc_annotation(stem: str, scene: Scene) -> bytes:
    """Pascal VOC XML; boxes 1-based and inclusive, as in VOC (mmdet subtracts 1)."""
    root = ET.Element('annotation')
    for tag, text in (('folder', 'VOC2007'), ('filename', f'{stem}.jpg')):
        ET.SubElement(root, tag).text = text
    ET.SubElement(ET.SubElement(root, 'source'), 'database').text = f'demo_world v{VERSION}'
    size = ET.SubElement(root, 'size')
    height, width, depth = scene.image.shape
    for tag, value in (('width', width), ('height', height), ('depth', depth)):
        ET.SubElement(size, tag).text = str(value)
    ET.SubElement(root, 'segmented').text = '0'
    for thing in scene.things:
        obj = ET.SubElement(root, 'object')
        for tag, text in (('name', thing.name), ('pose', 'Unspecified'), ('truncated', '0'), ('difficult', '0')):
            ET.SubElement(obj, tag).text = text
        box = ET.SubElement(obj, 'bndbox')
        for tag, value in zip(('xmin', 'ymin', 'xmax', 'ymax'), thing.box):
            ET.SubElement(box, tag).text = str(value + 1)
    ET.indent(root)
    return ET.tostring(root, encoding='utf-8') + b'\n'


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_scene(out: Path, split: str, stem: str, scene: Scene) -> None:
    """Write one scene in all three layouts (one JPEG encoding shared by VOC and ADE)."""
    jpeg = _jpeg(scene.image)
    _write(out / 'voc' / 'VOC2007' / 'JPEGImages' / f'{stem}.jpg', jpeg)
    _write(out / 'voc' / 'VOC2007' / 'Annotations' / f'{stem}.xml', voc_annotation(stem, scene))
    _write(out / 'ade' / 'images' / ADE_SPLITS[split] / f'{stem}.jpg', jpeg)
    _write(out / 'ade' / 'annotations' / ADE_SPLITS[split] / f'{stem}.png', _png(scene.seg))
    for k, thing in enumerate(scene.things):
        _write(out / 'cls' / split / thing.name / f'{stem}_{k}.png', _png(crop_thing(scene.image, thing.box)))


def generate(
    out_dir: str | Path,
    seed: int = 0,
    scenes_train: int = 1500,
    scenes_val: int = 400,
    image_size: int = REFERENCE_SIZE,
    overwrite: bool = False,
) -> dict:
    """Write the world under out_dir and return its meta.json content.

    Refuses to mix with an earlier generation unless `overwrite`, which removes only this generator's layouts.
    """
    out = Path(out_dir)
    existing = [out / name for name in LAYOUTS if (out / name).exists()]
    if existing and not overwrite:
        raise FileExistsError(f'{existing[0]} exists: pass overwrite=True (--overwrite) to regenerate {out}')
    for path in existing:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    counts = {}
    for split, n_scenes in zip(SPLITS, (scenes_train, scenes_val)):
        stems, per_class = [], dict.fromkeys(THING_CLASSES, 0)
        for index in range(n_scenes):
            stem = f'{split}_{index:05d}'
            scene = render_scene(scene_rng(seed, split, index), image_size, first_class=index % len(THINGS))
            write_scene(out, split, stem, scene)
            stems.append(stem)
            for thing in scene.things:
                per_class[thing.name] += 1
        _write(
            out / 'voc' / 'VOC2007' / 'ImageSets' / 'Main' / f'{VOC_SPLITS[split]}.txt',
            ''.join(f'{stem}\n' for stem in stems).encode(),
        )
        counts[split] = dict(scenes=n_scenes, objects=sum(per_class.values()), objects_per_class=per_class)
    meta = dict(
        generator='datagen.demo_world',
        version=VERSION,
        seed=seed,
        image_size=image_size,
        crop_size=CROP_SIZE,
        thing_classes=list(THING_CLASSES),
        stuff_classes=list(STUFF_CLASSES),
        seg_classes=list(SEG_CLASSES),
        seg_ignore_label=0,
        counts=counts,
    )
    _write(out / 'meta.json', (json.dumps(meta, indent=2) + '\n').encode())
    return meta
