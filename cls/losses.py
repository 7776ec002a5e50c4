"""Classification losses of "Bag of Tricks" (He et al. 2019, §5.2 label smoothing, §5.3 knowledge distillation).

Every loss takes probability targets [N, K] rather than class indices, so one code path serves one-hot, smoothed
and mixup-mixed targets, alone or together. Where the paper's formula and GluonCV's code (which produced the paper's
numbers) differ, both are a named switch:
- label smoothing: the paper gives ε/(K−1) to every wrong class (`'paper'`); GluonCV, timm and torch mix with the
  uniform distribution, ε/K to every class (`'uniform'`). The configs use the paper's.
- distillation: the paper sums the hard and the soft loss (`'paper'`: weights 1, 1); GluonCV weights them ½, ½
  (`'gluoncv'`), which the configs use. The two differ by a constant factor that the learning rate absorbs.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from backbones.errors import ArgError
from backbones.registry import MODELS

SMOOTHING_FORMS = ('paper', 'uniform')
DISTILL_WEIGHTS = {'paper': (1.0, 1.0), 'gluoncv': (0.5, 0.5)}  # (hard, soft)


def smooth_targets(labels: torch.Tensor, num_classes: int, epsilon: float, form: str = 'paper') -> torch.Tensor:
    """Label-smoothed targets [N, K] in float32. `form='paper'` (§5.2): 1 − ε for the true class, ε/(K−1) for every
    other; `form='uniform'` (GluonCV, timm, torch's `cross_entropy(label_smoothing=ε)`): (1 − ε)·one-hot + ε/K.
    ε = 0 gives one-hot either way."""
    if form not in SMOOTHING_FORMS:
        raise ArgError(f'label smoothing form {form!r}: expected one of {", ".join(SMOOTHING_FORMS)}')
    if not 0 <= epsilon < 1:
        raise ArgError(f'label smoothing epsilon must be in [0, 1), got {epsilon}')
    if num_classes < 2:
        raise ArgError(f'label smoothing needs num_classes >= 2, got {num_classes}')
    off, on = (
        (epsilon / (num_classes - 1), 1.0 - epsilon)
        if form == 'paper'
        else (epsilon / num_classes, 1.0 - epsilon + epsilon / num_classes)
    )
    targets = torch.full((labels.numel(), num_classes), off, device=labels.device)
    return targets.scatter_(1, labels.reshape(-1, 1), on)


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """bf16/fp16 → float32, so that low-precision logits do not lose the tail; float32/float64 as they are."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Batch mean of −Σ_k targets_k · log softmax(logits)_k, in at least float32."""
    if logits.shape != targets.shape:
        raise ArgError(f'logits {tuple(logits.shape)} and targets {tuple(targets.shape)} must have the same shape')
    logits = at_least_float32(logits)
    return -(targets.to(logits.dtype) * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()


def distillation_weights(weights: str | tuple[float, float]) -> tuple[float, float]:
    """(hard, soft) weights from a form name ('paper', 'gluoncv') or a pair; checked at build time, not mid-run."""
    if isinstance(weights, str):
        if weights not in DISTILL_WEIGHTS:
            raise ArgError(
                f'distillation weights {weights!r}: expected one of {", ".join(DISTILL_WEIGHTS)} or a (hard, soft) pair'
            )
        return DISTILL_WEIGHTS[weights]
    hard, soft = weights
    if hard < 0 or soft < 0:
        raise ArgError(f'distillation weights must be >= 0, got {tuple(weights)}')
    return float(hard), float(soft)


def distillation_losses(
    logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: float = 20.0,
    weights: str | tuple[float, float] = 'gluoncv',
) -> dict:
    """The paper's ℓ(p, softmax(z)) + T²·ℓ(softmax(r/T), softmax(z/T)), weighted, as its two parts:
    `loss_cls` = w_hard·CE(z, p) and `loss_distill` = w_soft·T²·KL(softmax(r/T) ‖ softmax(z/T)), where p are the
    (possibly smoothed and mixed) `targets`, z the student's and r the teacher's logits.

    KL = CE − the teacher's entropy, which does not depend on the student: the gradient is the paper's, and the logged
    part falls to 0 as the student learns instead of sitting at T²·H(teacher) (≈ 400 at T = 20). The T² factor keeps
    the soft gradient (T·(softmax(z/T) − softmax(r/T)) → (z − r, centred)/K) from vanishing as T grows. The teacher
    is detached here, so it never receives a gradient whatever the caller passes.
    """
    if temperature <= 0:
        raise ArgError(f'distillation temperature must be > 0, got {temperature}')
    hard_weight, soft_weight = distillation_weights(weights)
    student = F.log_softmax(at_least_float32(logits) / temperature, dim=-1)
    teacher = F.log_softmax(at_least_float32(teacher_logits.detach()) / temperature, dim=-1)
    kl = F.kl_div(student, teacher, log_target=True, reduction='batchmean')
    return dict(
        loss_cls=hard_weight * soft_cross_entropy(logits, targets), loss_distill=soft_weight * temperature**2 * kl
    )


@MODELS.register_module()
class ClassificationLoss(nn.Module):
    """Soft-target cross-entropy, or the distillation losses when the model passes its teacher's logits.

    Returns a dict of named parts (mmengine logs each and trains on their sum): `loss_cls`, plus `loss_distill` with a
    teacher. `distill_weights`: 'gluoncv' (½, ½; the configs' choice), 'paper' (1, 1) or a (hard, soft) pair.
    """

    def __init__(self, distill_temperature: float = 20.0, distill_weights: str | tuple[float, float] = 'gluoncv'):
        super().__init__()
        if distill_temperature <= 0:
            raise ArgError(f'distillation temperature must be > 0, got {distill_temperature}')
        self.distill_temperature = distill_temperature
        self.distill_weights = distillation_weights(distill_weights)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor, teacher_logits: torch.Tensor | None = None) -> dict:
        if teacher_logits is None:
            return dict(loss_cls=soft_cross_entropy(logits, targets))
        return distillation_losses(logits, teacher_logits, targets, self.distill_temperature, self.distill_weights)

    def trick_card(self) -> dict:
        return dict(distill_temperature=self.distill_temperature, distill_weights=list(self.distill_weights))
