"""The `tricks` registry scope: one child of every mmengine root registry.

Because every registry here is a child of mmengine's root, mmdet's and mmseg's own registries find our classes by their
scoped name (`type='tricks.ResNet'`) once `backbones` is imported, e.g. through a config's
`custom_imports = dict(imports=['backbones'], allow_failed_imports=False)`; a scoped name alone imports it too
(mmengine imports `tricks.registry` for the scope `tricks`, and that imports this package).

`locations` (the modules mmengine imports before a registry's first look-up, and again on every look-up until they all
import) name only this package: a location outside the library that `pip install .` installs (`backbones`, `tricks`)
would fail every look-up where the tree is not on the path, or import another project's package of that name. The tree's
packages register the rest of the scope (`cls`, `engine.hooks`, `engine.preemption`, `engine.visualize`, `det`, `seg`)
when they are imported: the train tools import them (`engine.cli.register_modules`), and each config family's base names
those its configs use in `custom_imports`, for a plain mmengine Runner (`configs/cls/_base_/default_runtime.py`,
`configs/det/_base_/voc0712.py`, `configs/seg/_base_/ade20k.py`). Children of the roots nothing registers into
(optimizers, samplers, …) exist so that a Runner whose `default_scope` is `tricks` finds the scope in every registry
tree and builds mmengine's classes without a warning.
"""

from mmengine.registry import Registry
from mmengine.registry import root as mmengine_root

SCOPE = 'tricks'

# Where each registry's classes are registered, for lazy import: the library's own modules only (see above).
_LOCATIONS = {'MODELS': ['backbones']}

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
VISBACKENDS = _CHILDREN['VISBACKENDS']
