"""The `tricks` registry scope: one child of every mmengine root registry.

Because every registry here is a child of mmengine's root, mmdet's and mmseg's own registries find our classes by
their scoped name (`type='tricks.ResNet'`) once `backbones` is imported, e.g. through a config's
`custom_imports = dict(imports=['backbones'], allow_failed_imports=False)`. `locations` lets a Runner whose
`default_scope` is `tricks` import the modules that register into each registry lazily. Children of the roots we do
not register into (optimizers, samplers, visualisation backends, …) exist so that such a Runner finds the scope in
every registry tree and builds mmengine's classes without a warning.
"""

from mmengine.registry import Registry
from mmengine.registry import root as mmengine_root

SCOPE = 'tricks'

# Where each registry's classes are registered, for lazy import.
_LOCATIONS = {
    'MODELS': ['backbones', 'cls'],
    'HOOKS': ['engine.hooks', 'engine.preemption', 'cls'],
    'LOOPS': ['engine.preemption'],
    'FUNCTIONS': ['engine.hooks', 'cls'],
    'PARAM_SCHEDULERS': ['cls'],
    'DATASETS': ['cls'],
    'DATA_SAMPLERS': ['cls'],
    'TRANSFORMS': ['cls'],
    'METRICS': ['cls'],
    'OPTIM_WRAPPERS': ['cls'],
    'OPTIM_WRAPPER_CONSTRUCTORS': ['cls'],
}

_CHILDREN = {
    name: Registry(parent.name, parent=parent, scope=SCOPE, locations=_LOCATIONS.get(name, []))
    for name, parent in vars(mmengine_root).items()
    if isinstance(parent, Registry)
}

MODELS = _CHILDREN['MODELS']
HOOKS = _CHILDREN['HOOKS']
FUNCTIONS = _CHILDREN['FUNCTIONS']
PARAM_SCHEDULERS = _CHILDREN['PARAM_SCHEDULERS']
DATASETS = _CHILDREN['DATASETS']
DATA_SAMPLERS = _CHILDREN['DATA_SAMPLERS']
TRANSFORMS = _CHILDREN['TRANSFORMS']
METRICS = _CHILDREN['METRICS']
OPTIM_WRAPPERS = _CHILDREN['OPTIM_WRAPPERS']
OPTIM_WRAPPER_CONSTRUCTORS = _CHILDREN['OPTIM_WRAPPER_CONSTRUCTORS']
LOOPS = _CHILDREN['LOOPS']
