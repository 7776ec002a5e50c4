"""ADE20K-layout segmentation sets with their own classes, checked up front: `tricks.ADEFormatDataset`.

The layout ADE20K ships: images/<split>/*.jpg and annotations/<split>/*.png of the same stem, label 0 = ignore
(object outlines, unlabelled pixels) and 1..K = metainfo['classes'] (mmseg's reduce_zero_label). mmseg's ADE20KDataset
accepts only ADE's 150 class names, and mmseg's BaseSegDataset reads any label map as it finds it: a map smaller than
its image is stretched to fit, a value past the last class dies in the loss as `Target 199 is out of bounds`, naming
no file. Here every pair is checked when the set is built, and each problem stops the run with one line naming the
file: an image without its label map, a label map that does not decode (a truncated PNG), one whose size differs from
its image, one that holds a value that is neither a class nor ignored. On a big set a progress line is logged every
`PROGRESS_EVERY` maps (ADE20K's 20,210 training maps take about a minute on 2 cores); `check_labels=False` skips it.
"""

import os.path as osp

import numpy as np
from mmengine.logging import MMLogger
from mmseg.datasets import BaseSegDataset
from PIL import Image

from backbones.errors import UserError
from backbones.registry import DATASETS

PROGRESS_EVERY = 2000


class SegFormatError(UserError):
    """An image or label map that cannot be trained on, in one line naming the file."""


def image_size(path: str) -> tuple[int, int]:
    """(width, height) from the header, without decoding the pixels."""
    try:
        with Image.open(path) as image:
            return image.size
    except Exception as err:  # Pillow raises many types for bad files
        raise SegFormatError(f'{path}: not a readable image ({type(err).__name__}: {err})') from None


def label_values(path: str) -> tuple[tuple[int, int], np.ndarray]:
    """(width, height) and the distinct values of a label map, decoded in full (a truncated PNG fails here)."""
    try:
        with Image.open(path) as image:
            size = image.size
            values = np.unique(np.asarray(image))
    except Exception as err:  # as in image_size
        raise SegFormatError(f'{path}: not a readable label map ({type(err).__name__}: {err})') from None
    return size, values


@DATASETS.register_module()
class ADEFormatDataset(BaseSegDataset):
    """BaseSegDataset with ADE20K's suffixes and zero-as-ignore, and the checks of the module docstring.

    Args:
        check_labels: decode every label map when the set is built (see the module docstring).
        **kwargs: BaseSegDataset's (data_root, data_prefix, metainfo=dict(classes=...), pipeline, ...).
    """

    def __init__(
        self,
        img_suffix: str = '.jpg',
        seg_map_suffix: str = '.png',
        reduce_zero_label: bool = True,
        check_labels: bool = True,
        **kwargs,
    ):
        self.check_labels = check_labels
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, reduce_zero_label=reduce_zero_label, **kwargs
        )

    def class_label_values(self) -> range:
        """The label-map values of the classes: 1..K with zero-as-ignore (k → class k − 1), else 0..K − 1."""
        classes = len(self._metainfo['classes'])
        return range(1, classes + 1) if self.reduce_zero_label else range(classes)

    def ignored_label_values(self) -> set[int]:
        return {0, 255} if self.reduce_zero_label else {self.ignore_index}  # with zero-as-ignore, 255 stays ignored

    def valid_label_values(self) -> set[int]:
        return set(self.class_label_values()) | self.ignored_label_values()

    def load_data_list(self) -> list[dict]:
        data_list = super().load_data_list()
        if not self.check_labels:
            return data_list
        valid = self.valid_label_values()
        logger = MMLogger.get_current_instance()
        for done, info in enumerate(data_list, 1):
            seg_map = info.get('seg_map_path')
            if seg_map is None:
                continue
            if not osp.isfile(seg_map):
                raise SegFormatError(f'{seg_map}: the label map of {info["img_path"]} is missing')
            size, values = label_values(seg_map)
            if size != image_size(info['img_path']):
                raise SegFormatError(
                    f'{seg_map}: label map of {size[0]}×{size[1]} px for an image of '
                    f'{"×".join(map(str, image_size(info["img_path"])))} px ({info["img_path"]})'
                )
            stray = sorted(set(values.tolist()) - valid)
            if stray:
                classes = self.class_label_values()
                span = f'{classes[0]}..{classes[-1]}' if len(classes) > 1 else ''.join(map(str, classes)) or 'none'
                ignored = ', '.join(map(str, sorted(self.ignored_label_values())))
                named = f'{len(classes)} class' + ('es' if len(classes) != 1 else '')
                raise SegFormatError(
                    f'{seg_map}: label value {stray[0]} is neither one of the {named} nor ignored '
                    f'(class values: {span}; ignored: {ignored})'
                )
            if done % PROGRESS_EVERY == 0:
                logger.info(f'ADEFormatDataset: checked {done} of {len(data_list)} label maps')
        return data_list
