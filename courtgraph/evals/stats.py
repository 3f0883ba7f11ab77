"""Small statistics for comparing judges: Wilson and bootstrap intervals, exact McNemar, Cohen's kappa,
correlations.

Plain functions over lists, with the standard library only: the harness must report honest
uncertainty without pulling numpy into a core install. Every random step takes an explicit seed so
that the same records always give the same report.
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Sequence

#: Bootstrap resamples used when the caller does not say.
DEFAULT_RESAMPLES = 2000


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean; ValueError on an empty sequence (an empty mean is not zero)."""
    if not values:
        raise ValueError("mean of an empty sequence")
    return math.fsum(values) / len(values)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of already sorted values, interpolating linearly between order statistics.

    The same rule as numpy's default, so intervals match what users compute in a notebook.
    """
    if not sorted_values:
        raise ValueError("quantile of an empty sequence")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} outside [0, 1]")
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


#: The interval rule for a proportion (accuracy, per category): named in every report.
PROPORTION_INTERVAL = "wilson-cc"


def wilson_interval(hits: int, n: int, *, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval with continuity correction for ``hits / n`` (Newcombe 1998, method 4).

    The rule for every proportion the report shows, at any n: the plain Wilson interval dips to about
    90% coverage at n = 10-20 with accuracy near 0.95, and the percentile bootstrap to 87-89%; with
    the continuity correction the coverage stays at or above the nominal level over n >= 10 and
    accuracy in [0.5, 0.95] (tests/test_stats.py checks it). The ends are clipped to [0, 1] and are
    exactly 0 / 1 when no / every item is a hit.
    """
    if n < 1:
        raise ValueError("an interval of an empty sample")
    if not 0 <= hits <= n:
        raise ValueError(f"hits {hits} outside [0, {n}]")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level {level} outside (0, 1)")
    z = _normal_quantile(0.5 + level / 2.0)
    p = hits / n
    denominator = 2.0 * (n + z * z)
    low = 0.0 if hits == 0 else (2 * n * p + z * z - 1 - z * math.sqrt(z * z - 2 - 1 / n + 4 * p * (n * (1 - p) + 1))
                                 ) / denominator
    high = 1.0 if hits == n else (2 * n * p + z * z + 1 + z * math.sqrt(z * z + 2 - 1 / n + 4 * p * (n * (1 - p) - 1))
                                  ) / denominator
    return max(0.0, low), min(1.0, high)


def _normal_quantile(q: float) -> float:
    """The standard normal quantile (``statistics.NormalDist`` is exact to double precision)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(q)


def bootstrap_ci(values: Sequence[float], *, resamples: int = DEFAULT_RESAMPLES, seed: int | str = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values``.

    Resamples the values with replacement ``resamples`` times and returns the ``(1-level)/2`` and
    ``(1+level)/2`` quantiles of the resampled means. Seeded with its own generator, so a call's
    result does not depend on what ran before it. A one-value (or constant) sample gives a
    zero-width interval: the bootstrap cannot see variance that the sample does not show.
    """
    if not values:
        raise ValueError("bootstrap of an empty sample")
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level {level} outside (0, 1)")
    rng = random.Random(seed)
    n = len(values)
    data = list(values)
    means = sorted(math.fsum(rng.choices(data, k=n)) / n for _ in range(resamples))
    tail = (1.0 - level) / 2.0
    return quantile(means, tail), quantile(means, 1.0 - tail)


def paired_bootstrap_ci(a: Sequence[float], b: Sequence[float], *, resamples: int = DEFAULT_RESAMPLES,
                        seed: int | str = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``mean(a) - mean(b)`` for paired observations.

    ``a[i]`` and ``b[i]`` are measured on the same item (e.g. two protocols' correctness on one
    case); resampling the items keeps the pairs together, so the interval reflects the item-level
    correlation between the two and is much tighter than two independent intervals would suggest.
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length ({len(a)} vs {len(b)})")
    return bootstrap_ci([x - y for x, y in zip(a, b, strict=True)], resamples=resamples, seed=seed,
                        level=level)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` and ``c``.

    ``b`` = items only the first method got right, ``c`` = items only the second got right. Under
    the null hypothesis each discordant item is a fair coin, so
    ``p = min(1, 2 * sum_{k <= min(b, c)} C(n, k) / 2^n)`` with ``n = b + c``. With no discordant
    items there is no evidence of a difference and p is 1. Exact integer arithmetic, so the
    p-value is right for small samples, where the chi-square approximation is not.
    """
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be non-negative")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    return min(1.0, (2 * tail) / (1 << n))  # int / int: exact even where 2**n overflows a float


def cohen_kappa(matrix: Sequence[Sequence[int | float]]) -> float | None:
    """Cohen's kappa of a k x k confusion matrix (rows: rater 1, columns: rater 2).

    ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o = sum_i C_ii / n`` and
    ``p_e = sum_i row_i * col_i / n^2``. Returns None when kappa is undefined: an empty matrix, or
    ``p_e == 1`` (both raters put every item in the same single class, so chance already explains
    all the agreement and there is nothing left to measure). None, not NaN, so it survives JSON.
    """
    k = len(matrix)
    if any(len(row) != k for row in matrix):
        raise ValueError("the confusion matrix must be square")
    n = math.fsum(math.fsum(row) for row in matrix)
    if n <= 0:
        return None
    p_o = math.fsum(matrix[i][i] for i in range(k)) / n
    rows = [math.fsum(row) for row in matrix]
    cols = [math.fsum(matrix[i][j] for i in range(k)) for j in range(k)]
    p_e = math.fsum(r * c for r, c in zip(rows, cols, strict=True)) / (n * n)
    if math.isclose(p_e, 1.0):
        return None
    return (p_o - p_e) / (1.0 - p_e)


def confusion_matrix(first: Sequence[Hashable], second: Sequence[Hashable],
                     classes: Sequence[Hashable]) -> list[list[int]]:
    """Count how often rater 1 said ``classes[i]`` while rater 2 said ``classes[j]``.

    ValueError on a value outside ``classes``: silently dropping it would inflate agreement.
    """
    if len(first) != len(second):
        raise ValueError(f"raters differ in length ({len(first)} vs {len(second)})")
    index = {c: i for i, c in enumerate(classes)}
    matrix = [[0] * len(classes) for _ in classes]
    for x, y in zip(first, second, strict=True):
        if x not in index or y not in index:
            raise ValueError(f"value {x if x not in index else y!r} is not one of the classes {list(classes)}")
        matrix[index[x]][index[y]] += 1
    return matrix


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's correlation coefficient; None for fewer than two pairs or a constant variable."""
    if len(x) != len(y):
        raise ValueError(f"samples differ in length ({len(x)} vs {len(y)})")
    if len(x) < 2:
        return None
    mx, my = mean(x), mean(y)
    sxy = math.fsum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = math.fsum((a - mx) ** 2 for a in x)
    syy = math.fsum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank (what Spearman's rho needs)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho: Pearson's correlation of the average ranks."""
    return pearson(ranks(x), ranks(y))
