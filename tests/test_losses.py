"""Label smoothing, soft-target cross-entropy and the distillation loss against closed forms and torch's own losses."""

import math

import pytest
import torch
import torch.nn.functional as F

from backbones.registry import MODELS
from cls.losses import ClassificationLoss, distillation_losses, smooth_targets, soft_cross_entropy

pytestmark = pytest.mark.cpu_kind  # kernels, tolerances or precision: run on both CPU kinds (test_cpu_kinds.py)


def batch(n: int = 8, k: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits [n, k], labels [n]) from a private generator."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g) * 3, torch.randint(k, (n,), generator=g)


@pytest.mark.parametrize('k', [2, 5, 1000])
@pytest.mark.parametrize('epsilon', [0.0, 0.1, 0.5, 0.9])
def test_smooth_targets_follow_the_papers_closed_form(k, epsilon):
    labels = torch.tensor([0, k - 1, k // 2])
    targets = smooth_targets(labels, k, epsilon)
    assert targets.shape == (3, k) and targets.dtype == torch.float32
    for row, label in zip(targets.tolist(), labels.tolist()):
        assert row[label] == pytest.approx(1 - epsilon)
        others = row[:label] + row[label + 1 :]
        assert others == pytest.approx([epsilon / (k - 1)] * (k - 1))
    torch.testing.assert_close(targets.sum(dim=1), torch.ones(3))


def test_smooth_targets_differ_from_gluoncvs_convention():
    targets = smooth_targets(torch.tensor([3]), 1000, 0.1)
    assert targets[0, 3].item() == pytest.approx(0.9)  # GluonCV: 1 − ε + ε/K = 0.9001
    assert targets[0, 0].item() == pytest.approx(0.1 / 999)  # GluonCV: ε/K = 1e-4


@pytest.mark.parametrize('k', [2, 10, 1000])
@pytest.mark.parametrize('epsilon', [0.1, 0.3])
def test_uniform_form_is_gluoncvs_and_torchs_label_smoothing(k, epsilon):
    logits, labels = batch(k=k)
    targets = smooth_targets(labels, k, epsilon, form='uniform')
    assert targets[0, labels[0]].item() == pytest.approx(1 - epsilon + epsilon / k)  # GluonCV's closed form
    assert targets[0, (labels[0] + 1) % k].item() == pytest.approx(epsilon / k)
    torch.testing.assert_close(
        soft_cross_entropy(logits, targets), F.cross_entropy(logits, labels, label_smoothing=epsilon)
    )


def test_unknown_smoothing_form_is_named():
    with pytest.raises(ValueError, match="label smoothing form 'gluon': expected one of paper, uniform"):
        smooth_targets(torch.tensor([0]), 10, 0.1, form='gluon')


def test_zero_epsilon_is_one_hot():
    labels = torch.tensor([4, 0, 2, 2])
    assert torch.equal(smooth_targets(labels, 5, 0.0), F.one_hot(labels, 5).float())


@pytest.mark.parametrize('epsilon', [-0.1, 1.0, 1.5])
def test_bad_epsilon_is_a_one_line_error_naming_it(epsilon):
    with pytest.raises(ValueError, match=rf'epsilon must be in \[0, 1\), got {epsilon}$'):
        smooth_targets(torch.tensor([0]), 10, epsilon)


def test_soft_cross_entropy_of_one_hot_targets_is_cross_entropy():
    logits, labels = batch()
    expected = F.cross_entropy(logits, labels)
    torch.testing.assert_close(soft_cross_entropy(logits, F.one_hot(labels, 10).float()), expected)


@pytest.mark.parametrize('k', [2, 10, 1000])
@pytest.mark.parametrize('epsilon', [0.1, 0.3])
def test_smoothed_soft_cross_entropy_is_torchs_label_smoothing_with_rescaled_epsilon(k, epsilon):
    # torch: (1 − ε')·onehot + ε'/K. Off-class ε'/K = ε/(K−1) gives ε' = ε·K/(K−1); the true class is then
    # 1 − ε' + ε'/K = 1 − ε'·(K−1)/K = 1 − ε, so the two targets, hence the two losses, coincide.
    logits, labels = batch(k=k)
    torch_epsilon = epsilon * k / (k - 1)
    expected = F.cross_entropy(logits, labels, label_smoothing=torch_epsilon)
    torch.testing.assert_close(soft_cross_entropy(logits, smooth_targets(labels, k, epsilon)), expected)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_soft_cross_entropy_is_computed_in_float32_for_low_precision_logits(dtype):
    logits, labels = batch(k=1000)
    logits = (logits * 30).to(dtype).requires_grad_()  # logits up to ~300: exp overflows both formats
    targets = smooth_targets(labels, 1000, 0.1)
    loss = soft_cross_entropy(logits, targets)
    reference = -(targets.double() * F.log_softmax(logits.detach().double(), dim=-1)).sum(dim=-1).mean()
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)
    loss.backward()
    assert logits.grad.dtype == dtype and torch.isfinite(logits.grad).all()


def test_soft_cross_entropy_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r'logits \(2, 3\) and targets \(2, 4\)'):
        soft_cross_entropy(torch.zeros(2, 3), torch.zeros(2, 4))


def by_hand(z: list[float], r: list[float], p: list[float], t: float) -> tuple[float, float]:
    """One sample's hard cross-entropy and soft KL divergence × T², from the formulas, in Python floats."""

    def log_softmax(v):
        top = max(v)
        norm = top + math.log(sum(math.exp(x - top) for x in v))
        return [x - norm for x in v]

    log_teacher = log_softmax([x / t for x in r])
    log_student = log_softmax([x / t for x in z])
    hard = -sum(pi * lq for pi, lq in zip(p, log_softmax(z)))
    soft = sum(math.exp(lt) * (lt - ls) for lt, ls in zip(log_teacher, log_student))
    return hard, t * t * soft


@pytest.mark.parametrize(
    'temperature, weights, expected_weights',
    [
        (20.0, 'gluoncv', (0.5, 0.5)),
        (20.0, 'paper', (1.0, 1.0)),
        (1.0, 'gluoncv', (0.5, 0.5)),
        (4.0, (0.2, 0.8), (0.2, 0.8)),
        (20.0, (0.0, 1.0), (0.0, 1.0)),
    ],
)
def test_distillation_losses_are_the_formula_by_hand(temperature, weights, expected_weights):
    logits, labels = batch(n=4, k=6)
    teacher_logits, _ = batch(n=4, k=6, seed=1)
    targets = smooth_targets(labels, 6, 0.1)
    parts = [
        by_hand(z, r, p, temperature) for z, r, p in zip(logits.tolist(), teacher_logits.tolist(), targets.tolist())
    ]
    losses = distillation_losses(logits, teacher_logits, targets, temperature, weights)
    assert losses['loss_cls'].item() == pytest.approx(expected_weights[0] * sum(h for h, _ in parts) / 4, rel=1e-5)
    assert losses['loss_distill'].item() == pytest.approx(
        expected_weights[1] * sum(s for _, s in parts) / 4, rel=1e-4, abs=1e-6
    )


def test_soft_part_is_zero_when_the_student_matches_the_teacher_and_has_the_cross_entropys_gradient():
    logits, labels = batch(n=4, k=6)
    targets = smooth_targets(labels, 6, 0.1)
    assert distillation_losses(logits, logits.clone(), targets)['loss_distill'].item() == pytest.approx(0, abs=1e-5)
    # KL = CE − H(teacher): the same gradient as the paper's soft cross-entropy (T²·CE(z/T, softmax(r/T))).
    teacher_logits, _ = batch(n=4, k=6, seed=1)
    student = logits.clone().requires_grad_()
    distillation_losses(student, teacher_logits, targets, 20.0, 'paper')['loss_distill'].backward()
    reference = logits.clone().requires_grad_()
    (400 * soft_cross_entropy(reference / 20, F.softmax(teacher_logits / 20, dim=-1))).backward()
    torch.testing.assert_close(student.grad, reference.grad)


def test_t_squared_keeps_the_soft_gradient_independent_of_large_temperatures():
    # d/dz of T²·KL(softmax(r/T) ‖ softmax(z/T)) = T·(softmax(z/T) − softmax(r/T)) → ((z − z̄) − (r − r̄))/K as T → ∞.
    logits, labels = batch(n=4, k=6)
    teacher_logits, _ = batch(n=4, k=6, seed=1)
    targets = F.one_hot(labels, 6).float()
    centred = (logits - logits.mean(1, keepdim=True)) - (teacher_logits - teacher_logits.mean(1, keepdim=True))
    limit = centred / 6 / 4  # / K, and / N for the batch mean
    for temperature in (20.0, 100.0, 1000.0):  # the gap closes as O(1/T); without T² the gradient would be O(1/T²)
        student = logits.clone().requires_grad_()
        distillation_losses(student, teacher_logits, targets, temperature, (0.0, 1.0))['loss_distill'].backward()
        torch.testing.assert_close(student.grad, limit, rtol=0, atol=2 / temperature * limit.abs().max().item())


def test_teacher_gets_no_gradient():
    logits, labels = batch()
    teacher_logits, _ = batch(seed=1)
    student = logits.requires_grad_()
    teacher = teacher_logits.requires_grad_()
    sum(distillation_losses(student, teacher, F.one_hot(labels, 10).float()).values()).backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(temperature=0.0), 'temperature must be > 0, got 0.0'),
        (dict(weights='hinton'), "distillation weights 'hinton': expected one of paper, gluoncv or a"),
        (dict(weights=(-1.0, 1.0)), r'distillation weights must be >= 0, got \(-1.0, 1.0\)'),
    ],
)
def test_bad_distillation_arguments_are_one_line_errors(kwargs, message):
    logits, labels = batch()
    with pytest.raises(ValueError, match=message):
        distillation_losses(logits, logits, F.one_hot(labels, 10).float(), **kwargs)
    with pytest.raises(ValueError, match=message):
        ClassificationLoss(**{f'distill_{key}': value for key, value in kwargs.items()})


def test_classification_loss_builds_from_the_registry_and_dispatches_on_the_teacher():
    loss = MODELS.build(dict(type='tricks.ClassificationLoss', distill_temperature=4.0, distill_weights='paper'))
    assert isinstance(loss, ClassificationLoss)
    logits, labels = batch()
    teacher_logits, _ = batch(seed=1)
    targets = smooth_targets(labels, 10, 0.1)
    assert loss(logits, targets) == dict(loss_cls=soft_cross_entropy(logits, targets))
    with_teacher = loss(logits, targets, teacher_logits)
    expected = distillation_losses(logits, teacher_logits, targets, 4.0, (1.0, 1.0))
    assert with_teacher.keys() == expected.keys() == {'loss_cls', 'loss_distill'}
    for key in expected:
        torch.testing.assert_close(with_teacher[key], expected[key])
    assert with_teacher['loss_distill'].item() > 0
