"""Classification on mmengine's Runner with every trick of the paper as a config switch.

Importing this package registers its models, losses, batch augments, optim wrappers, datasets and metrics in the
`tricks` scope (see `backbones/registry.py`).
"""

import backbones  # noqa: F401  (the backbones and the scope)

from . import (  # noqa: F401  (registration)
    crop_flip,
    cutout,
    data,
    losses,
    metrics,
    mixup,
    model,
    optim,
    resident,
    schedules,
    trick_card,
    whitening,
)
