"""Fitting the patch-whitening prep (`backbones.resnet9.PatchWhitening`) to the training images, once per run.

cifar10-fast's final notebook computes the whitening filters from 10,000 training images before the first step. Here
`tricks.PatchWhiteningHook` does it in `before_train`: after mmengine has loaded a checkpoint (a resumed or
fine-tuned run keeps the filters it saved, which say `fitted`) and after `EMAHook` has copied the model (its first
update copies every buffer, the fitted filters included). The images are spread evenly over the set (an image folder
lists its classes in order, so its first 10,000 might be two classes) and normalised by the model's own data
preprocessor, without augmentation: the filters whiten what the network sees.

    default_hooks = dict(whitening=dict(type='tricks.PatchWhiteningHook', num_images=10000, eps=1e-2))
"""

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from backbones.errors import ArgError
from backbones.registry import HOOKS
from backbones.resnet9 import PatchWhitening


@HOOKS.register_module()
class PatchWhiteningHook(Hook):
    """Fits every unfitted `PatchWhitening` of the model (`num_images`: how many training images; `eps`: ε added to
    each eigenvalue, the notebook's 1e-2, which keeps the near-empty directions from being blown up)."""

    priority = 'HIGH'
    chunk = 500  # images preprocessed at a time: a bounded working set at any image size

    def __init__(self, num_images: int = 10000, eps: float = 1e-2):
        if int(num_images) < 1 or not eps >= 0:
            raise ArgError(f'PatchWhiteningHook: num_images={num_images!r} must be ≥ 1 and eps={eps!r} ≥ 0')
        self.num_images, self.eps = int(num_images), float(eps)

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        layers = [m for m in model.modules() if isinstance(m, PatchWhitening) and not bool(m.fitted)]
        if not layers:
            return
        loader = runner.train_dataloader
        dataset = loader.dataset
        picked = torch.linspace(0, len(dataset) - 1, min(self.num_images, len(dataset))).round().long().tolist()
        fetch = getattr(dataset, '__getitems__', None)  # a resident set hands out whole batches
        if fetch is None:
            fetch = lambda indices: loader.collate_fn([dataset[i] for i in indices])  # noqa: E731

        def normalised_batches():
            with torch.no_grad():
                for start in range(0, len(picked), self.chunk):
                    yield model.data_preprocessor(fetch(picked[start : start + self.chunk]), training=False)['inputs']

        for layer in layers:
            eigenvalues = layer.fit(normalised_batches(), eps=self.eps)
        runner.logger.info(
            f'PatchWhiteningHook: fitted {len(layers)} whitening layer(s) to {len(picked)} training images '
            f'(eigenvalues {eigenvalues.max():.3g} … {eigenvalues.min():.3g}, ε {self.eps:g})'
        )
