"""The image classifier: any registered backbone → global average pool → (dropout) → linear head.

Batches are `dict(inputs=uint8 N×C×H×W, labels=int64 N)`. `ClsDataPreprocessor` normalises them on the device,
turns labels into probability targets (label smoothing) and applies batch augments (mixup), so the loss always
sees soft targets and the teacher sees exactly the (mixed) batch the student sees.
"""

import copy
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import BaseDataPreprocessor, BaseModel

from backbones.checkpoint import latest_checkpoint, load_checkpoint
from backbones.errors import ArgError, CheckpointError
from backbones.registry import MODELS

from .losses import smooth_targets

# The paper's normalisation, on 0–255 pixels.
IMAGENET_MEAN = (123.68, 116.78, 103.94)
IMAGENET_STD = (58.39, 57.12, 57.38)


@MODELS.register_module()
class ClsDataPreprocessor(BaseDataPreprocessor):
    """uint8 images → normalised float (channels_last if asked); labels → smoothed targets; then batch augments.

    Args:
        num_classes: K, for the targets.
        label_smoothing: ε of the paper's label smoothing (0 = one-hot), applied to training batches only.
        label_smoothing_form: 'paper' (ε/(K−1) to each wrong class) or 'uniform' (ε/K to every class; GluonCV, timm).
        batch_augments: configs of callables `(inputs, targets) -> (inputs, targets)`, e.g. [dict(type='tricks.Mixup',
            alpha=0.2)], applied to training batches after smoothing (so mixup mixes the smoothed targets).
        channels_last: NHWC memory layout (faster convs on CPUs with AVX-512 and on tensor cores).
    """

    def __init__(
        self,
        num_classes: int,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        label_smoothing: float = 0.0,
        label_smoothing_form: str = 'paper',
        batch_augments: list[dict] | None = None,
        channels_last: bool = False,
    ):
        super().__init__()
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.label_smoothing_form = label_smoothing_form
        smooth_targets(torch.zeros(1, dtype=torch.long), num_classes, label_smoothing, label_smoothing_form)  # checks
        self.channels_last = channels_last
        # In the default float dtype, as the model's parameters are built (float32 unless a run asks for float64).
        self.register_buffer('mean', torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std).view(1, -1, 1, 1), persistent=False)
        self.batch_augments = [MODELS.build(cfg) for cfg in batch_augments or []]

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = (data['inputs'].to(self.mean.dtype) - self.mean) / self.std
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        labels = data['labels']
        targets = smooth_targets(
            labels, self.num_classes, self.label_smoothing if training else 0.0, self.label_smoothing_form
        )
        if training:
            for augment in self.batch_augments:
                inputs, targets = augment(inputs, targets)
        return dict(inputs=inputs, labels=labels, targets=targets)

    def trick_card(self) -> dict:
        return dict(
            label_smoothing=self.label_smoothing,
            label_smoothing_form=self.label_smoothing_form,
            batch_augments=[augment.trick_card() for augment in self.batch_augments],
        )


def last_checkpoint(path: str) -> str:
    """A checkpoint file as is; for a work dir, the file its `last_checkpoint` pointer names (mmengine writes it)."""
    if not os.path.isdir(path):
        return path
    latest = latest_checkpoint(path)
    if latest is None:
        raise CheckpointError(f'{path}: work dir has no last_checkpoint; train it first or name a checkpoint file')
    return latest


class FrozenTeacher:
    """A trained classifier built from its own config and checkpoint, frozen, in eval mode, run under no_grad.

    Kept outside the student's module tree on purpose: its weights are not saved in the student's checkpoints,
    not seen by the optimizer, and `student.train()` cannot switch it out of eval mode.
    """

    def __init__(self, config: str, checkpoint: str):
        """`checkpoint`: a checkpoint file, or the teacher's work dir (its last saved checkpoint is used)."""
        self.config = config
        cfg = Config.fromfile(config)
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.pop('teacher', None)
        self.model: nn.Module = MODELS.build(model_cfg)
        path = last_checkpoint(checkpoint)
        state = load_checkpoint(path)
        state = state.get('state_dict', state)
        expected = self.model.state_dict()
        missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
        wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
        if missing or unexpected or wrong:
            raise CheckpointError(
                f'{path}: not a checkpoint of the teacher {config} (missing {missing[:2] or "-"}, '
                f'unexpected {unexpected[:2] or "-"}, other shapes {wrong[:2] or "-"})'
            )
        self.model.load_state_dict(state, strict=True)
        self.model.eval().requires_grad_(False)

    @torch.no_grad()
    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        param = next(self.model.parameters())
        if param.device != inputs.device:
            self.model.to(inputs.device)
        return self.model(inputs, mode='tensor').float()


POOLINGS = ('avg', 'max', 'avgmax')


def global_pool(features: torch.Tensor, pooling: str) -> torch.Tensor:
    """N×C×H×W → N×C (avg, max) or N×2C (avgmax: both, concatenated)."""
    if pooling == 'avg':
        return features.mean((2, 3))
    if pooling == 'max':
        return features.amax((2, 3))
    return torch.cat([features.mean((2, 3)), features.amax((2, 3))], dim=1)


@MODELS.register_module()
class ImageClassifier(BaseModel):
    """Args:
    backbone: a backbone config (`tricks.ResNet`, `tricks.NFNet`, `tricks.ResNet9`, …); its last returned stage is
        pooled.
    num_classes: outputs of the linear head.
    pooling: global pooling of the last stage: 'avg' (ResNet), 'max' (the CIFAR-10 record nets) or 'avgmax' (both,
        concatenated: the head sees twice the channels).
    logit_scale: the logits are multiplied by it (the record runs' 0.125, which keeps a bias-free head's logits small).
    head_bias: whether the linear head has a bias (the record runs' has none).
    test_flip: predict from the mean of the logits of each image and its mirror image (the record runs' test-time
        augmentation; training is unchanged).
    test_translate: t > 0 also averages over the image shifted by t pixels up-left and down-right (reflect-padded),
        each with its mirror if test_flip: ½ the unshifted logits + ¼ each shifted (airbench's 6-view TTA, t = 1).
    dropout: dropout before the head (NFNet-F0 uses 0.2).
    loss: the loss config; gets (logits, targets, teacher_logits) and returns a dict of named loss parts.
    teacher: dict(config=..., checkpoint=...) for knowledge distillation, or None.
    channels_last: keep weights and activations in NHWC.
    """

    def __init__(
        self,
        backbone: dict,
        num_classes: int,
        pooling: str = 'avg',
        logit_scale: float = 1.0,
        head_bias: bool = True,
        test_flip: bool = False,
        test_translate: int = 0,
        dropout: float = 0.0,
        loss: dict | None = None,
        teacher: dict | None = None,
        channels_last: bool = False,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ):
        data_preprocessor = {
            **dict(type='tricks.ClsDataPreprocessor', num_classes=num_classes, channels_last=channels_last),
            **(data_preprocessor or {}),
        }
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if pooling not in POOLINGS:
            raise ArgError(f'ImageClassifier: pooling {pooling!r}; expected one of {", ".join(POOLINGS)}')
        self.backbone = MODELS.build(backbone)
        if int(test_translate) < 0:
            raise ArgError(f'ImageClassifier: test_translate={test_translate!r} must be ≥ 0 (pixels)')
        self.pooling, self.logit_scale, self.test_flip = pooling, logit_scale, test_flip
        self.test_translate = int(test_translate)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        features = self.backbone.out_channels[-1] * (2 if pooling == 'avgmax' else 1)
        self.head = nn.Linear(features, num_classes, bias=head_bias)
        self.loss_fn = MODELS.build(loss or dict(type='tricks.ClassificationLoss'))
        self.teacher = FrozenTeacher(**teacher) if teacher else None
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        return global_pool(self.backbone(inputs)[-1], self.pooling)

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.dropout(self.extract_feat(inputs)))
        return logits * self.logit_scale if self.logit_scale != 1.0 else logits

    def forward(
        self,
        inputs: torch.Tensor,
        labels: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        mode: str = 'tensor',
    ):
        logits = self.logits(inputs)
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            teacher_logits = self.teacher(inputs) if self.teacher is not None else None
            return self.loss_fn(logits, targets, teacher_logits)
        if mode == 'predict':
            logits = self.test_time_logits(inputs, logits)
            scores = logits.float().softmax(dim=1)
            return [dict(scores=s, label=label) for s, label in zip(scores, labels)]
        raise ArgError(f'ImageClassifier: unknown mode {mode!r}; expected tensor, loss or predict')

    def mirror_averaged_logits(self, inputs: torch.Tensor, logits: torch.Tensor | None = None) -> torch.Tensor:
        """The logits of `inputs` (`logits` if already computed), averaged with their mirror's if `test_flip`."""
        logits = self.logits(inputs) if logits is None else logits
        return (logits + self.logits(inputs.flip(3))) / 2 if self.test_flip else logits

    def test_time_logits(self, inputs: torch.Tensor, logits: torch.Tensor | None = None) -> torch.Tensor:
        """The logits averaged over the test-time views (`test_flip`, `test_translate`)."""
        logits = self.mirror_averaged_logits(inputs, logits)
        if self.test_translate:
            t, (height, width) = self.test_translate, inputs.shape[-2:]
            padded = F.pad(inputs, (t, t, t, t), mode='reflect')
            shifted = (padded[..., :height, :width], padded[..., 2 * t : 2 * t + height, 2 * t : 2 * t + width])
            logits = logits / 2 + sum(self.mirror_averaged_logits(view) for view in shifted) / 4
        return logits

    def trick_card(self) -> dict:
        """What this model contributes to the run's trick card; each part says its own."""
        distill = dict(teacher=self.teacher.config, **self.loss_fn.trick_card()) if self.teacher else None
        return dict(
            backbone=self.backbone.trick_card(),
            pooling=self.pooling,
            logit_scale=self.logit_scale,
            head_bias=self.head.bias is not None,
            test_flip=self.test_flip,
            test_translate=self.test_translate,
            dropout=getattr(self.dropout, 'p', 0.0),
            channels_last=self.channels_last,
            **self.data_preprocessor.trick_card(),
            distill=distill,
        )
