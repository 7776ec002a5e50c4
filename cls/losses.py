"""Classification losses of "Bag of Tricks" (He et al. 2019, §5.2 label smoothing, §5.3 knowledge distillation).

Every loss takes probability targets [N, K] rather than class indices, so one code path serves one-hot, smoothed
and mixup-mixed targets, alone or together.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from backbones.registry import MODELS


def smooth_targets(labels: torch.Tensor, num_classes: int, epsilon: float) -> torch.Tensor:
    """Label-smoothed targets [N, K] in float32: 1 − ε for the true class, ε/(K−1) for every other class.

    This is the paper's formula (§5.2). GluonCV, which produced the paper's numbers, builds 1 − ε + ε/K and ε/K
    instead; torch's `cross_entropy(label_smoothing=ε')` matches ours for ε' = ε·K/(K−1). ε = 0 gives one-hot.
    """
    if not 0 <= epsilon < 1:
        raise ValueError(f'label smoothing epsilon must be in [0, 1), got {epsilon}')
    if num_classes < 2:
        raise ValueError(f'label smoothing needs num_classes >= 2, got {num_classes}')
    targets = torch.full((labels.numel(), num_classes), epsilon / (num_classes - 1), device=labels.device)
    return targets.scatter_(1, labels.reshape(-1, 1), 1.0 - epsilon)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Batch mean of −Σ_k targets_k · log softmax(logits)_k, in float32 so bf16/fp16 logits do not lose the tail."""
    if logits.shape != targets.shape:
        raise ValueError(f'logits {tuple(logits.shape)} and targets {tuple(targets.shape)} must have the same shape')
    return -(targets.float() * F.log_softmax(logits.float(), dim=-1)).sum(dim=-1).mean()


def check_distillation_args(temperature: float, hard_weight: float) -> None:
    """Fail early (at config build time in `ClassificationLoss`) rather than with a NaN loss mid-training."""
    if temperature <= 0:
        raise ValueError(f'distillation temperature must be > 0, got {temperature}')
    if not 0 <= hard_weight <= 1:
        raise ValueError(f'distillation hard_weight must be in [0, 1], got {hard_weight}')


def distillation_loss(logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor,
                      temperature: float = 20.0, hard_weight: float = 0.5) -> torch.Tensor:
    """The paper's ℓ(p, softmax(z)) + T²·ℓ(softmax(r/T), softmax(z/T)), weighted as GluonCV does.

    Returns hard_weight·CE(z, p) + (1 − hard_weight)·T²·CE(z/T, softmax(r/T)), where p are the (possibly smoothed
    and mixed) `targets`, z the student's and r the teacher's logits. The T² factor keeps the soft term's gradient
    (T·(softmax(z/T) − softmax(r/T)) → (z − r, centred)/K) from vanishing as T grows. hard_weight = 0.5 is half
    the paper's unweighted sum (a constant factor the learning rate absorbs). The teacher is detached here, so it
    never receives a gradient whatever the caller passes.
    """
    check_distillation_args(temperature, hard_weight)
    teacher_probs = F.softmax(teacher_logits.detach().float() / temperature, dim=-1)
    hard = soft_cross_entropy(logits, targets)
    soft = soft_cross_entropy(logits.float() / temperature, teacher_probs)
    return hard_weight * hard + (1 - hard_weight) * temperature ** 2 * soft


@MODELS.register_module()
class ClassificationLoss(nn.Module):
    """Soft-target cross-entropy, or the distillation loss when the model passes its teacher's logits."""

    def __init__(self, distill_temperature: float = 20.0, distill_hard_weight: float = 0.5):
        super().__init__()
        check_distillation_args(distill_temperature, distill_hard_weight)
        self.distill_temperature = distill_temperature
        self.distill_hard_weight = distill_hard_weight

    def forward(self, logits: torch.Tensor, targets: torch.Tensor,
                teacher_logits: torch.Tensor | None = None) -> torch.Tensor:
        if teacher_logits is None:
            return soft_cross_entropy(logits, targets)
        return distillation_loss(logits, teacher_logits, targets, self.distill_temperature, self.distill_hard_weight)
