"""The demo world is deterministic, its three layouts describe the same scenes, and mmdet/mmseg load it as they are."""

import hashlib
import json
import runpy
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datagen.demo_world import CROP_SIZE, SEG_CLASSES, STUFF_CLASSES, THING_CLASSES, generate

REPO = Path(__file__).resolve().parents[1]
SCENES = dict(train=12, val=9)  # >= 9 scenes per split: every thing class appears in each


def make_world(out: Path, seed: int = 0, scenes: dict = SCENES) -> dict:
    return generate(out, seed=seed, scenes_train=scenes['train'], scenes_val=scenes['val'], image_size=96)


def file_digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob('*'))
        if p.is_file()
    }


def voc_objects(world: Path, split_file: str) -> dict[str, list[tuple[str, list[int]]]]:
    """stem -> [(class, [xmin, ymin, xmax, ymax] 1-based)] for the scenes listed in an ImageSets file."""
    voc = world / 'voc' / 'VOC2007'
    stems = (voc / 'ImageSets' / 'Main' / split_file).read_text().split()
    corners = ('xmin', 'ymin', 'xmax', 'ymax')
    return {
        stem: [
            (obj.findtext('name'), [int(obj.find('bndbox').findtext(c)) for c in corners])
            for obj in ET.parse(voc / 'Annotations' / f'{stem}.xml').getroot().iter('object')
        ]
        for stem in stems
    }


@pytest.fixture(scope='module')
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('world')
    make_world(out)
    return out


def test_same_seed_gives_the_same_bytes(world, tmp_path):
    make_world(tmp_path)
    assert file_digests(tmp_path) == file_digests(world)


def test_a_smaller_run_is_a_prefix_and_another_seed_differs(world, tmp_path):
    make_world(tmp_path / 'small', scenes=dict(train=3, val=2))
    make_world(tmp_path / 'seed1', seed=1, scenes=dict(train=3, val=2))
    small, seed1, big = (file_digests(root) for root in (tmp_path / 'small', tmp_path / 'seed1', world))
    scene_files = [name for name in small if name.endswith(('.jpg', '.png', '.xml'))]
    assert all(small[name] == big[name] for name in scene_files)
    assert all(small[name] != seed1[name] for name in scene_files if name.endswith('.jpg'))


def test_cli_prints_one_summary_line_and_refuses_to_mix_generations(tmp_path, monkeypatch, capsys):
    def run_cli(*extra: str) -> None:
        argv = ['make_demo_data.py', str(tmp_path), '--scenes-train', '2', '--scenes-val', '1', *extra]
        monkeypatch.setattr(sys, 'argv', argv)
        runpy.run_path(str(REPO / 'tools' / 'make_demo_data.py'), run_name='__main__')

    run_cli()
    out = capsys.readouterr().out
    assert out.count('\n') == 1 and 'train 2 scenes' in out and 'val 1 scenes' in out
    with pytest.raises(SystemExit) as refused:
        run_cli()
    assert refused.value.code == 2 and '--overwrite' in capsys.readouterr().err
    run_cli('--overwrite')


def test_counts_and_sizes(world):
    meta = json.loads((world / 'meta.json').read_text())
    assert meta['thing_classes'] == list(THING_CLASSES) and meta['stuff_classes'] == list(STUFF_CLASSES)
    for split, voc_split, ade_split in (('train', 'trainval.txt', 'training'), ('val', 'test.txt', 'validation')):
        objects = voc_objects(world, voc_split)
        crops = sorted((world / 'cls' / split).glob('*/*.png'))
        counts = meta['counts'][split]
        assert len(objects) == counts['scenes'] == SCENES[split]
        assert sum(map(len, objects.values())) == len(crops) == counts['objects']
        assert {p.parent.name for p in crops} == set(THING_CLASSES)
        assert len(list((world / 'ade' / 'images' / ade_split).glob('*.jpg'))) == SCENES[split]
        assert len(list((world / 'ade' / 'annotations' / ade_split).glob('*.png'))) == SCENES[split]
        assert Image.open(crops[0]).size == (CROP_SIZE, CROP_SIZE)
        assert Image.open(next((world / 'ade' / 'images' / ade_split).glob('*.jpg'))).size == (96, 96)


def test_every_voc_box_has_its_crop_and_its_class_in_the_seg_map(world):
    for split, voc_split, ade_split in (('train', 'trainval.txt', 'training'), ('val', 'test.txt', 'validation')):
        for stem, objects in voc_objects(world, voc_split).items():
            assert 1 <= len(objects) <= 4
            seg = np.array(Image.open(world / 'ade' / 'annotations' / ade_split / f'{stem}.png'))
            assert seg.max() <= len(SEG_CLASSES)
            assert 0 < (seg == 0).mean() < 0.3  # object outlines are ignored, the rest is labelled
            for k, (name, (xmin, ymin, xmax, ymax)) in enumerate(objects):
                assert (world / 'cls' / split / name / f'{stem}_{k}.png').is_file()
                assert 1 <= xmin <= xmax <= 96 and 1 <= ymin <= ymax <= 96
                inside = seg[ymin - 1 : ymax, xmin - 1 : xmax]
                assert (inside == SEG_CLASSES.index(name) + 1).any()


def test_cls_layout_loads_with_image_folder(world):
    from cls.data import ImageFolder

    val = ImageFolder(str(world / 'cls'), 'val', same_classes_as='train', verify_images=True)
    assert set(val.metainfo['classes']) == set(THING_CLASSES)
    assert val[0]['inputs'].shape == (3, CROP_SIZE, CROP_SIZE)


def test_mmdet_voc_dataset_loads_it(world):
    mmdet_datasets = pytest.importorskip('mmdet.datasets')
    from mmcv.transforms import LoadImageFromFile
    from mmdet.datasets.transforms import LoadAnnotations

    dataset = mmdet_datasets.VOCDataset(
        data_root=str(world / 'voc'),
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        metainfo=dict(classes=THING_CLASSES),
        pipeline=[LoadImageFromFile(), LoadAnnotations(with_bbox=True)],
        test_mode=False,
    )
    assert dataset.metainfo['dataset_type'] == 'VOC2007'
    assert len(dataset) == SCENES['train']
    sample = dataset[0]
    name_boxes = voc_objects(world, 'trainval.txt')[Path(sample['img_path']).stem]
    assert sample['img'].shape == (96, 96, 3)
    assert [THING_CLASSES[i] for i in sample['gt_bboxes_labels']] == [name for name, _ in name_boxes]
    np.testing.assert_array_equal(sample['gt_bboxes'].numpy(), [[v - 1 for v in box] for _, box in name_boxes])


def test_mmseg_dataset_loads_it_with_zero_as_ignore(world):
    mmseg_datasets = pytest.importorskip('mmseg.datasets')
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets.transforms import LoadAnnotations

    dataset = mmseg_datasets.BaseSegDataset(
        data_root=str(world / 'ade'),
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        img_suffix='.jpg',
        seg_map_suffix='.png',
        reduce_zero_label=True,
        metainfo=dict(classes=SEG_CLASSES),
        pipeline=[LoadImageFromFile(), LoadAnnotations()],
    )
    assert len(dataset) == SCENES['val']
    sample = dataset[0]
    raw = np.array(Image.open(sample['seg_map_path'])).astype(np.int64)
    np.testing.assert_array_equal(sample['gt_seg_map'], np.where(raw == 0, 255, raw - 1))
    assert sample['img'].shape == (96, 96, 3)
