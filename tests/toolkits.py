"""Building through mmdet's or mmseg's own registry, as their Runners do (imported lazily: they are heavy)."""

import importlib

from mmengine.registry import DefaultScope


def toolkit_models(package: str):
    """`package`'s MODELS registry ('mmdet' or 'mmseg'), after registering all its modules."""
    importlib.import_module(f'{package}.utils').register_all_modules(init_default_scope=False)
    return importlib.import_module(f'{package}.registry').MODELS


def build_in_toolkit(package: str, cfg_model: dict):
    with DefaultScope.overwrite_default_scope(package):
        return toolkit_models(package).build(cfg_model)
