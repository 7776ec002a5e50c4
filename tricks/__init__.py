"""The `tricks` registry scope under its own name, as mmengine expects of a scope (`mmdet`, `mmseg`): a Runner whose
`default_scope` is 'tricks' imports `tricks.registry` before it builds anything, and warns when there is none. The
registries themselves live in `backbones/registry.py`."""
