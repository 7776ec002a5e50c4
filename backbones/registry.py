"""The `tricks` registry scope: one child of each mmengine root registry the suite registers into.

Because every registry here is a child of mmengine's root, mmdet's and mmseg's own registries find our classes by
their scoped name (`type='tricks.ResNet'`) once `backbones` is imported, e.g. through a config's
`custom_imports = dict(imports=['backbones'], allow_failed_imports=False)`. `locations` lets a Runner whose
`default_scope` is `tricks` import the modules that register into each registry lazily.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

SCOPE = 'tricks'


def _child(name: str, parent: Registry, locations: list[str]) -> Registry:
    return Registry(name, parent=parent, scope=SCOPE, locations=locations)


MODELS = _child('model', MMENGINE_MODELS, ['backbones', 'cls'])
HOOKS = _child('hook', MMENGINE_HOOKS, ['backbones.checkpoint', 'cls'])
DATASETS = _child('dataset', MMENGINE_DATASETS, ['cls'])
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, ['cls'])
METRICS = _child('metric', MMENGINE_METRICS, ['cls'])
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS, ['cls'])
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor', MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, ['cls'])
