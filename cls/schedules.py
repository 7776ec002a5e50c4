"""Learning-rate schedules that mmengine lacks.

`tricks.PiecewiseLinearLR`: the CIFAR-10 record runs' schedule (cifar10-fast `dawn.py`), lr linear from 0 up to its
peak at epoch 5 and back down to 0 at epoch 24, set every iteration: the base lr times the piecewise-linear
interpolation of `factors` at `milestones`.
"""

import numpy as np
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler

from backbones.errors import ArgError
from backbones.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class PiecewiseLinearLR(LRSchedulerMixin, _ParamScheduler):
    """lr_t = base lr × interp(t, milestones, factors), t counted from `begin` in the scheduler's unit; with
    `convert_to_iter_based=True` the milestones are epochs and t is the iteration, so the lr moves every iteration.

    Args:
        milestones: increasing steps (epochs, or iterations with by_epoch=False) of the knots, the first usually 0.
        factors: the lr factor at each knot; before the first and after the last the end factors hold.
    """

    def __init__(self, optimizer, milestones, factors, begin: int = 0, end: int = INF, last_step: int = -1,
                 by_epoch: bool = True, verbose: bool = False):  # fmt: skip
        if len(milestones) != len(factors) or len(milestones) < 2 or list(milestones) != sorted(milestones):
            raise ArgError(f'PiecewiseLinearLR: milestones {list(milestones)} must increase and pair with factors '
                             f'{list(factors)}')  # fmt: skip
        self.milestones, self.factors = [float(m) for m in milestones], [float(f) for f in factors]
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step, by_epoch=by_epoch, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args, milestones, begin=0, end=INF, by_epoch=True, epoch_length=None, **kwargs):
        """Epoch milestones → iteration milestones, as mmengine converts begin and end."""
        if not by_epoch or not epoch_length:
            raise ArgError('PiecewiseLinearLR: convert_to_iter_based needs by_epoch=True and the epoch length')
        milestones = [m * epoch_length for m in milestones]
        begin, end = begin * epoch_length, end * epoch_length if end != INF else end
        return cls(*args, milestones=milestones, begin=begin, end=end, by_epoch=False, **kwargs)

    def _get_value(self) -> list[float]:
        factor = float(np.interp(self.last_step, self.milestones, self.factors))
        return [base * factor for base in self.base_values]
