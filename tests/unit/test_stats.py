"""The Wilson score interval against published values.

Newcombe, R. G. (1998), "Two-sided confidence intervals for the single
proportion: comparison of seven methods", Statistics in Medicine 17,
857-872, Table I, method 3 (score interval without continuity correction),
bounds to four places: 81/263, 15/148, 0/20 and 1/29. For 0/10 and 5/10
the bounds were worked by hand from the closed forms: at k = 0 the upper
bound is z²/(n + z²), and at k = n/2 the interval is 1/2 ± half with
half = z/(1 + z²/n)·√(1/4n + z²/4n²).
"""

from __future__ import annotations

from statistics import NormalDist

import pytest

from archiver.report.stats import Z_95, Proportion, wilson


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),  # Newcombe 1998, Table I
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
    ],
)
def test_wilson_matches_published_bounds(k, n, low, high):
    interval = wilson(k, n)
    assert interval is not None
    assert (round(interval[0], 4), round(interval[1], 4)) == (low, high)


def test_wilson_is_symmetric_and_stays_in_bounds():
    assert abs(Z_95 - NormalDist().inv_cdf(0.975)) < 1e-15
    for n in (1, 2, 7, 100):
        for k in range(n + 1):
            interval, mirror = wilson(k, n), wilson(n - k, n)
            assert interval is not None
            assert mirror is not None
            low, high = interval
            assert 0.0 <= low <= k / n <= high <= 1.0
            assert low == pytest.approx(1 - mirror[1])
    for n in (5, 10, 263):
        zz = Z_95 * Z_95
        none, every = wilson(0, n), wilson(n, n)
        assert none is not None
        assert every is not None
        assert none[0] == 0.0
        assert none[1] == pytest.approx(zz / (n + zz))
        assert every[0] == pytest.approx(n / (n + zz))
        assert every[1] == 1.0


def test_nothing_counted_has_no_interval_and_nonsense_is_refused():
    assert wilson(0, 0) is None
    assert Proportion(0, 0).share is None
    assert Proportion(0, 0).interval is None
    assert Proportion(3, 4).share == 0.75
    for k, n in ((5, 4), (-1, 3), (0, -1)):
        with pytest.raises(ValueError, match="k"):
            wilson(k, n)
        with pytest.raises(ValueError, match="proportion"):
            Proportion(k, n)
