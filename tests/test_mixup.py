"""Mixup: the draws reproduced independently, the mixing formula, Beta statistics, composition with the losses."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from backbones.registry import MODELS
from cls.losses import smooth_targets, soft_cross_entropy
from cls.mixup import Mixup, mixup

pytestmark = pytest.mark.cpu_kind  # kernels, tolerances or precision: run on both CPU kinds (test_cpu_kinds.py)

N, K = 6, 5


@pytest.fixture
def global_numpy_seed():
    """Seed numpy's global state (what `Mixup` draws from, and mmengine seeds) and restore it afterwards."""
    state = np.random.get_state()
    np.random.seed(11)
    yield 11
    np.random.set_state(state)


def reproduce_draws(seed: int, alpha: float) -> tuple[float, torch.Tensor]:
    """(λ, permutation) drawn independently of `mixup`, in its documented order: λ first, then the permutation."""
    rng = np.random.default_rng(seed)
    lam = rng.beta(alpha, alpha)
    return lam, torch.from_numpy(rng.permutation(N))


def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images [N, 3, 4, 4], labels [N], one-hot targets [N, K])."""
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(K, (N,), generator=g)
    return torch.randn(N, 3, 4, 4, generator=g), labels, F.one_hot(labels, K).float()


@pytest.mark.parametrize('alpha', [0.2, 1.0])
def test_mixup_is_the_convex_combination_with_a_reproducible_beta_draw_and_permutation(alpha):
    images, _, targets = batch()
    mixed_images, mixed_targets, lam = mixup(images, targets, alpha, generator=np.random.default_rng(5))
    expected_lam, partner = reproduce_draws(5, alpha)
    assert not torch.equal(partner, torch.arange(N))  # the check below would otherwise pass without mixing
    assert lam == expected_lam and 0 < lam < 1
    torch.testing.assert_close(mixed_images, lam * images + (1 - lam) * images[partner])
    torch.testing.assert_close(mixed_targets, lam * targets + (1 - lam) * targets[partner])
    torch.testing.assert_close(mixed_targets.sum(dim=1), torch.ones(N))


def test_mixing_commutes_with_label_smoothing():
    # Smoothing is the affine map q = (1 − ε − ε/(K−1))·onehot + ε/(K−1), so mixing smoothed targets is smoothing
    # mixed one-hot targets: each row keeps summing to 1 and stays within [ε/(K−1), 1 − ε].
    images, labels, one_hot = batch()
    epsilon = 0.1
    _, mixed_smoothed, lam = mixup(images, smooth_targets(labels, K, epsilon), 0.4, np.random.default_rng(2))
    _, mixed_one_hot, same_lam = mixup(images, one_hot, 0.4, np.random.default_rng(2))
    assert lam == same_lam
    off = epsilon / (K - 1)
    torch.testing.assert_close(mixed_smoothed, (1 - epsilon - off) * mixed_one_hot + off)
    torch.testing.assert_close(mixed_smoothed.sum(dim=1), torch.ones(N))
    assert mixed_smoothed.min() >= off - 1e-7 and mixed_smoothed.max() <= 1 - epsilon + 1e-7


def test_loss_on_mixed_targets_is_the_lambda_weighted_loss_of_both_labels():
    images, labels, one_hot = batch()
    _, mixed_targets, lam = mixup(images, one_hot, 0.2, np.random.default_rng(7))
    expected_lam, partner = reproduce_draws(7, 0.2)
    assert lam == expected_lam
    logits = torch.randn(N, K, generator=torch.Generator().manual_seed(1))
    expected = lam * F.cross_entropy(logits, labels) + (1 - lam) * F.cross_entropy(logits, labels[partner])
    torch.testing.assert_close(soft_cross_entropy(logits, mixed_targets), expected)


@pytest.mark.parametrize('alpha', [0.2, 1.0, 4.0])
def test_lambda_has_the_beta_mean_and_variance(alpha):
    images, _, targets = batch()
    rng = np.random.default_rng(0)
    lams = np.array([mixup(images[:2], targets[:2], alpha, rng)[2] for _ in range(4000)])
    assert lams.mean() == pytest.approx(0.5, abs=0.02)
    assert lams.var() == pytest.approx(1 / (4 * (2 * alpha + 1)), rel=0.1)


@pytest.mark.parametrize('alpha', [0.0, -1.0])
def test_non_positive_alpha_is_a_one_line_error_naming_it(alpha):
    images, _, targets = batch()
    with pytest.raises(ValueError, match=f'alpha must be > 0, got {alpha}$'):
        mixup(images, targets, alpha)
    with pytest.raises(ValueError, match=f'alpha must be > 0, got {alpha}$'):
        Mixup(alpha=alpha)


def test_class_index_targets_are_refused():
    images, labels, _ = batch()
    with pytest.raises(ValueError, match=r'float probability targets \[N, K\], got torch.int64 \(6,\)'):
        mixup(images, labels, 0.2)


@pytest.mark.parametrize('prob', [-0.1, 1.5])
def test_prob_outside_unit_interval_is_an_error(prob):
    with pytest.raises(ValueError, match=rf'prob must be in \[0, 1\], got {prob}$'):
        Mixup(prob=prob)


def test_prob_zero_leaves_the_batch_unchanged(global_numpy_seed):
    images, _, targets = batch()
    out_images, out_targets = Mixup(alpha=0.2, prob=0.0)(images, targets)
    assert out_images is images and out_targets is targets


def test_registered_mixup_draws_from_numpys_seeded_global_state(global_numpy_seed):
    augment = MODELS.build(dict(type='tricks.Mixup', alpha=0.4))
    assert isinstance(augment, Mixup) and (augment.alpha, augment.prob) == (0.4, 1.0)
    images, _, targets = batch()
    mixed_images, mixed_targets = augment(images, targets)
    independent = np.random.RandomState(global_numpy_seed)
    independent.random()  # the prob draw
    lam = independent.beta(0.4, 0.4)
    partner = torch.from_numpy(independent.permutation(N))
    torch.testing.assert_close(mixed_images, lam * images + (1 - lam) * images[partner])
    torch.testing.assert_close(mixed_targets, lam * targets + (1 - lam) * targets[partner])


def test_prob_half_mixes_about_half_the_batches(global_numpy_seed):
    images, _, _ = batch()
    targets = torch.eye(N)  # distinct rows: any mixing with a non-identity permutation changes them
    augment = Mixup(alpha=1.0, prob=0.5)
    mixed = sum(not torch.equal(augment(images, targets)[1], targets) for _ in range(400))
    assert mixed / 400 == pytest.approx(0.5, abs=0.1)
