"""Run-to-run noise: a ladder's numbers over seeds, and when a difference between two rows is more than noise.

Two rows a and b, each measured over n seeds, differ when a two-sided t-test rejects "same mean" at the 5 % level:
- `welch` (the report's default): Welch's unequal-variance test, t = Δ / √(s_a²/n_a + s_b²/n_b) against Student's
  t at the Welch–Satterthwaite degrees of freedom (scipy's `ttest_ind(a, b, equal_var=False)`).
- `paired`: seed k of every row runs with `randomness.seed=k` (same init draw, same data order), so the per-seed
  differences d_k = a_k − b_k can be tested instead: t = mean(d) / (s_d/√n), n − 1 degrees of freedom (scipy's
  `ttest_rel`). It is the stronger test when the shared seed makes the rows' results move together.
With fewer than `MIN_SEEDS` seeds on either side a test has one or two degrees of freedom at most, so no verdict is
given (`compare` returns None).
"""

import math
from collections.abc import Sequence

MIN_SEEDS = 3
LEVEL = 0.05  # two-sided


def summarize(values: Sequence[float]) -> dict:
    """mean, sample standard deviation (n − 1; None for one value), n and the values themselves (in seed order)."""
    n = len(values)
    if n == 0:
        raise ValueError('summarize: no values')
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return dict(mean=mean, std=std, n=n, values=list(values))


def _continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function, by the modified Lentz method (Numerical Recipes
    §6.4, `betacf`)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):  # fmt: skip
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _continued_fraction(a, b, x) / a
    return 1.0 - front * _continued_fraction(b, a, 1.0 - x) / b


def two_sided_p(t: float, df: float) -> float:
    """P(|T| ≥ |t|) for Student's t with `df` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2)."""
    if math.isinf(t):
        return 0.0
    return regularized_beta(df / 2.0, 0.5, df / (df + t * t))


def _verdict(delta: float, se: float, df: float) -> dict:
    if se == 0.0:  # no spread on either side: any difference is exact
        t = 0.0 if delta == 0.0 else math.copysign(math.inf, delta)
    else:
        t = delta / se
    p = two_sided_p(t, df)
    return dict(t=t, df=df, p=p, real=p < LEVEL)


def welch(a: dict, b: dict) -> dict:
    """Welch's t-test of a's mean against b's, from two `summarize` results (each with n ≥ 2)."""
    va, vb = a['std'] ** 2 / a['n'], b['std'] ** 2 / b['n']
    parts = (va * va / (a['n'] - 1) if va else 0.0) + (vb * vb / (b['n'] - 1) if vb else 0.0)
    df = (va + vb) ** 2 / parts if parts else float(a['n'] + b['n'] - 2)
    return _verdict(a['mean'] - b['mean'], math.sqrt(va + vb), df)


def paired(a: dict, b: dict) -> dict:
    """The paired t-test on the per-seed differences a_k − b_k (the same seeds, in the same order)."""
    if a['n'] != b['n']:
        raise ValueError(f'paired: {a["n"]} seeds against {b["n"]}')
    d = summarize([x - y for x, y in zip(a['values'], b['values'])])
    return _verdict(d['mean'], d['std'] / math.sqrt(d['n']), float(d['n'] - 1))


TESTS = {'welch': welch, 'paired': paired}


def compare(a: dict, b: dict, test: str = 'welch') -> dict | None:
    """t, df, two-sided p and `real` (p < LEVEL) for the difference of a's and b's means; None where either side has
    fewer than MIN_SEEDS seeds."""
    if min(a['n'], b['n']) < MIN_SEEDS:
        return None
    return TESTS[test](a, b)


def rule(test: str) -> str:
    """The report's sentence for the test it uses."""
    how = {
        'welch': "Welch's t-test (unequal variances, Welch–Satterthwaite df)",
        'paired': 'a paired t-test on the per-seed differences (seed k of every row shares randomness.seed=k)',
    }[test]
    return (
        f'a Δ is marked ≈ (within noise) when {how} gives two-sided p ≥ {LEVEL:g}, and each Δ with a verdict shows '
        f'its p; rows with fewer than {MIN_SEEDS} seeds get no verdict'
    )
