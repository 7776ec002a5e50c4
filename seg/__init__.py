"""Segmentation-only pieces (they need mmseg; configs import them with `custom_imports=dict(imports=['seg'])`)."""
