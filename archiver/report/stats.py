"""Confidence intervals for the report's shares: how far a share can be trusted.

A share of 3 dead links out of 7 and one of 300 out of 700 both read 43 %;
only an interval says the first could as well be 16 % or 75 %. The report
uses the Wilson score interval, which stays inside 0..1 and keeps close to its
nominal coverage for small samples and for shares near 0 or 1, where the
textbook "Wald" interval (p ± z·√(p(1−p)/n)) collapses to a width of zero.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import sqrt
from typing import Final

CONFIDENCE: Final = 0.95
# The normal quantile for 95 % two-sided, NormalDist().inv_cdf(0.975): written
# out, because importing statistics (decimal, fractions) slows every command's
# start; tests/unit/test_stats.py checks the digits.
Z_95: Final = 1.959963984540054


def wilson(k: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval for ``k`` successes in ``n`` trials.

    Wilson, E. B. (1927), "Probable inference, the law of succession, and
    statistical inference", JASA 22, 209-212; as written by Newcombe, R. G.
    (1998), "Two-sided confidence intervals for the single proportion:
    comparison of seven methods", Statistics in Medicine 17, 857-872
    (method 3, without continuity correction). With p = k/n::

        centre = (p + z²/2n) / (1 + z²/n)
        half   = z / (1 + z²/n) · √(p(1−p)/n + z²/4n²)

    and the interval is centre ± half. None when ``n`` is 0: nothing was
    counted, so there is no share to bound.
    """
    if n < 0 or not 0 <= k <= n:
        raise ValueError(f"wilson: need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return None
    p = k / n
    zz = z * z
    denominator = 1 + zz / n
    centre = (p + zz / (2 * n)) / denominator
    half = z / denominator * sqrt(p * (1 - p) / n + zz / (4 * n * n))
    # At k = 0 or k = n the bound is 0 or 1 exactly (centre = half): floating
    # point would leave 1e-17 or stray past.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True, slots=True)
class Proportion:
    """``k`` of ``n``, with its share and 95 % Wilson interval (None when n is 0)."""

    k: int
    n: int

    def __post_init__(self) -> None:
        if self.n < 0 or not 0 <= self.k <= self.n:
            raise ValueError(f"a proportion needs 0 <= k <= n: {self.k} of {self.n}")

    @property
    def share(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.k, self.n)
