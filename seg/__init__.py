"""Segmentation-only pieces: they need mmseg; configs import them with `custom_imports=dict(imports=['seg'])`.
- `tricks.ADEFormatDataset`: ADE20K-layout sets with their own classes, checked up front (ade_format.py)."""

from .ade_format import ADEFormatDataset, SegFormatError

__all__ = ['ADEFormatDataset', 'SegFormatError']
