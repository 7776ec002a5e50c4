"""Pascal-VOC-layout detection sets, read with checks: `tricks.VOCDataset`.

mmdet's VOCDataset trains on bad annotations without a word (an inverted box reaches the loss as it is, an object of
a class the config leaves out is dropped, a box reaching outside its image is kept outside) or stops deep inside a
library (an XML that does not parse, an image listed but missing). Here, when the set is built, before the first
iteration:
- a bad annotation stops the run with one line that names the file (and the object and box);
- a lossy but legitimate one is said once per set, in one summary line with the count and an example file: objects
  of classes the config leaves out (dropped, as mmdet does), boxes reaching outside their image (clipped to it).
"""

import os.path as osp
import xml.etree.ElementTree as ET
from collections import Counter

from mmdet.datasets import VOCDataset as MMDetVOCDataset
from mmengine.logging import MMLogger

from backbones.errors import UserError
from backbones.registry import DATASETS

PROGRESS_EVERY = 2000  # annotations between progress lines (VOC07+12 trainval: 16,551)


class VOCFormatError(UserError):
    """A VOC-layout annotation or file that cannot be trained on, in one line naming the file."""


def _box(xml_path: str, index: int, obj: ET.Element) -> list[float]:
    box = obj.find('bndbox')
    try:
        coords = [float(box.find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
    except (AttributeError, TypeError, ValueError):
        raise VOCFormatError(f'{xml_path}: object {index} has no readable bndbox (xmin, ymin, xmax, ymax)') from None
    x1, y1, x2, y2 = coords
    if x2 < x1 or y2 < y1:
        raise VOCFormatError(
            f'{xml_path}: object {index} ({obj.findtext("name")}) has an inverted box '
            f'xmin={x1:g} ymin={y1:g} xmax={x2:g} ymax={y2:g}'
        )
    return coords


@DATASETS.register_module()
class VOCDataset(MMDetVOCDataset):
    """mmdet's VOCDataset (same arguments and data), checked as the module docstring says."""

    def load_data_list(self) -> list[dict]:
        self._parsed, self._dropped, self._clipped = 0, Counter(), Counter()
        self._examples: dict[str, str] = {}
        data_list = super().load_data_list()
        logger = MMLogger.get_current_instance()
        if self._dropped:
            counts = ', '.join(f'{name} {n}' for name, n in self._dropped.most_common())
            logger.warning(
                f'{self.ann_file}: {sum(self._dropped.values())} objects of classes the config leaves out '
                f'were dropped ({counts}), e.g. in {self._examples["dropped"]}'
            )
        if self._clipped:
            logger.warning(
                f'{self.ann_file}: {sum(self._clipped.values())} boxes reaching outside their image were '
                f'clipped to it, e.g. in {self._examples["clipped"]}'
            )
        return data_list

    def parse_data_info(self, img_info: dict) -> dict:
        self._parsed += 1
        if self._parsed % PROGRESS_EVERY == 0:
            MMLogger.get_current_instance().info(f'{self.ann_file}: checked {self._parsed} annotations')
        xml_path, img_path = img_info['xml_path'], osp.join(self.sub_data_root, img_info['file_name'])
        for path, what in ((img_path, 'image'), (xml_path, 'annotation')):
            if not osp.isfile(path):
                raise VOCFormatError(
                    f'{path}: the {what} of {img_info["img_id"]!r}, listed in {self.ann_file}, is missing'
                )
        try:
            root = ET.parse(xml_path).getroot()
        except ET.ParseError as err:
            raise VOCFormatError(f'{xml_path}: not readable XML ({err})') from None
        classes = set(self._metainfo['classes'])
        for index, obj in enumerate(root.findall('object')):
            name = obj.findtext('name')
            if name not in classes:
                self._dropped[name] += 1
                self._examples.setdefault('dropped', xml_path)
                continue
            _box(xml_path, index, obj)
        data_info = super().parse_data_info(img_info)
        width, height = data_info['width'], data_info['height']
        for instance in data_info['instances']:
            x1, y1, x2, y2 = instance['bbox']
            inside = [min(max(x1, 0), width), min(max(y1, 0), height), min(max(x2, 0), width), min(max(y2, 0), height)]
            if inside != instance['bbox']:
                self._clipped[xml_path] += 1
                self._examples.setdefault('clipped', xml_path)
                instance['bbox'] = inside
        return data_info
