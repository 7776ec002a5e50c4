"""A test-only hook: every process of a distributed run writes its own model weights at the end (mmengine's
checkpoints come from rank 0 alone), so that a test can compare the ranks."""

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RankStateDump(Hook):
    """rank<r>_init.pth before the first step, rank<r>_trained.pth after the last."""

    def _dump(self, runner, when: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        torch.save(model.state_dict(), f'{runner.work_dir}/rank{get_rank()}_{when}.pth')

    def before_train(self, runner) -> None:
        self._dump(runner, 'init')

    def after_train(self, runner) -> None:
        self._dump(runner, 'trained')
