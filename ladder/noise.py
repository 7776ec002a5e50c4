"""Run-to-run noise: a ladder's numbers over seeds, and when a difference between two rows is more than noise.

The rule (Welch's two-sample comparison at about 95 %): rows a and b, each measured over n seeds with sample standard
deviation s, differ when |mean_a − mean_b| ≥ 2·√(s_a²/n_a + s_b²/n_b). With fewer than two seeds on either side the
noise is unknown and no difference is called real (`within_noise` returns None).
"""

import math
from collections.abc import Sequence


def summarize(values: Sequence[float]) -> dict:
    """mean, sample standard deviation (n − 1; None for one value), n and the values themselves."""
    n = len(values)
    if n == 0:
        raise ValueError('summarize: no values')
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return dict(mean=mean, std=std, n=n, values=list(values))


def noise_of_difference(a: dict, b: dict) -> float | None:
    """2·√(s_a²/n_a + s_b²/n_b) of two `summarize` results; None when either has one value."""
    if a['std'] is None or b['std'] is None:
        return None
    return 2 * math.sqrt(a['std'] ** 2 / a['n'] + b['std'] ** 2 / b['n'])


def within_noise(a: dict, b: dict) -> bool | None:
    """Whether the difference of the means of `a` and `b` is smaller than its noise; None when that is unknown."""
    noise = noise_of_difference(a, b)
    return None if noise is None else abs(a['mean'] - b['mean']) < noise
