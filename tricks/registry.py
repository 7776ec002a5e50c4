"""What mmengine imports for the `tricks` scope: the registries of `backbones/registry.py`."""

from backbones.registry import (  # noqa: F401  (re-exported for mmengine's scope import)
    DATA_SAMPLERS,
    DATASETS,
    FUNCTIONS,
    HOOKS,
    LOOPS,
    METRICS,
    MODELS,
    OPTIM_WRAPPER_CONSTRUCTORS,
    OPTIM_WRAPPERS,
    PARAM_SCHEDULERS,
    SCOPE,
    TRANSFORMS,
)
