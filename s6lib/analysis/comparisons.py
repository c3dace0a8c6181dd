"""Comparing experiments over seeds: exact permutation tests, the confidence interval they give for a
difference of means, Holm's correction for many comparisons, and how many "differences" luck alone
would make.

The seed is the unit of evidence: each seed's final test accuracy is one observation, and two
experiments are compared by their seeds alone. If a change did nothing, every way of dealing the
pooled seeds' results into two groups of the same sizes would be equally likely; the p-value is
the share of those ways that separate the groups at least as much as the real split does
(Ernst 2004). With 3 seeds against 5 there are only C(8, 3) = 56 ways, so no p-value can be below
2/56 = 0.036, however large the difference: the design, not the data, sets that floor.

The interval is the same test turned around: the shifts δ for which "the change adds δ to every
seed" is not rejected at the chosen level. Everything is computed exactly, by scipy, on whole
numbers of correctly classified test images (accuracies are recorded to 0.01%, one image in
10,000), so that the ties that decide an interval's ends are exact.

    d = difference(variant_finals, baseline_finals)
    d.low, d.high, d.p, d.verdict       # interval, p-value, "lower" / "higher" / "no clear difference"
    holm([d.p for d in many])           # p-values adjusted for how many were made
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import stats

ALPHA = 0.05  # a 95% interval; a p-value at or below this counts
PER_IMAGE = 100  # recorded accuracies are percentages of 10,000 test images: 100 steps per point


@dataclass(frozen=True)
class Difference:
    """One experiment against another, over their seeds (a minus b, in percentage points)."""

    diff: float  # mean of a minus mean of b
    low: float | None  # the confidence interval for the difference (None: too few seeds for one)
    high: float | None
    p: float | None  # exact two-sided permutation p-value (None: too few seeds)
    splits: int  # the ways of dealing the pooled seeds into groups of these sizes
    alpha: float = ALPHA

    @property
    def smallest_p(self) -> float:
        """The smallest p-value these group sizes can give: both extreme splits of `splits`."""
        return 2 / self.splits

    @property
    def verdict(self) -> str:
        """"lower" or "higher" when the interval leaves out 0 (p <= alpha), "no clear difference" when
        it does not, "too few seeds" when even the cleanest split could not reach alpha."""
        if self.p is None:
            return "too few seeds"
        if self.p > self.alpha:
            return "no clear difference"
        return "higher" if self.diff > 0 else "lower"


def _counts(values: Sequence[float]) -> np.ndarray:
    """Accuracies (%) as whole numbers of correct test images; a value off the 0.01% grid is refused."""
    x = np.asarray(values, dtype=float) * PER_IMAGE
    if not np.allclose(x, np.round(x), rtol=0, atol=1e-6):
        raise ValueError("accuracies must be recorded to 0.01% (whole test images) to be compared exactly; "
                         f"got {list(values)}")
    return np.round(x)


def _sum_first(x, y, axis):
    # For fixed pooled values, mean(x) - mean(y) rises with sum(x): the same test, in exact integers.
    return np.sum(x, axis=axis)


def _p(a: np.ndarray, b: np.ndarray) -> float:
    result = stats.permutation_test((a, b), _sum_first, permutation_type="independent", vectorized=True,
                                    n_resamples=np.inf, alternative="two-sided")
    return float(result.pvalue)


def _shifts(a: np.ndarray, b: np.ndarray) -> list[float]:
    """The shifts of `a` at which some re-dealt split ties the real one: where the p-value can change.
    Exchanging k of a's values with k of b's ties the real split at (sum of those a - sum of those b) / k."""
    out = set()
    for k in range(1, min(len(a), len(b)) + 1):
        for xs in itertools.combinations(a, k):
            for ys in itertools.combinations(b, k):
                out.add((sum(xs) - sum(ys)) / k)
    return sorted(out)


@lru_cache(maxsize=None)
def _difference(a: tuple[float, ...], b: tuple[float, ...], alpha: float) -> Difference:
    splits = math.comb(len(a) + len(b), len(a))
    diff = (sum(a) / len(a) - sum(b) / len(b)) if a and b else float("nan")
    if not a or not b or 2 / splits > alpha:
        return Difference(diff, None, None, None, splits, alpha)
    ca, cb = _counts(a), _counts(b)
    lcm = math.lcm(*range(1, min(len(a), len(b)) + 1))  # every tie shift is a whole number of 1/lcm images
    ca, cb = ca * lcm, cb * lcm
    # p can change only where a re-dealt split ties the real one, and is largest at such a tie, so the
    # interval's ends are among these shifts; the shifts around the estimate itself (where the means are
    # level and p is near 1) are always kept
    kept = [shift for shift in _shifts(ca, cb) if _p(ca - round(shift), cb) > alpha]
    low, high = min(kept) / lcm / PER_IMAGE, max(kept) / lcm / PER_IMAGE
    return Difference(diff, low, high, _p(ca, cb), splits, alpha)


def difference(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA) -> Difference:
    """Experiment `a` against `b`, from each one's final test accuracy per seed (%): the difference of
    the means, its (1 - alpha) confidence interval (the shifts the exact permutation test does not
    reject; its true coverage is at least 1 - alpha) and the test's two-sided p-value."""
    return _difference(tuple(map(float, a)), tuple(map(float, b)), alpha)


def smallest_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p-value an exact permutation test can give with these group sizes."""
    return 2 / math.comb(n_a + n_b, n_a)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's (1979) adjusted p-values, in the order given. Sorted from the smallest, the i-th of m
    p-values is multiplied by m - i + 1 (the smallest by m); each adjusted value is at least the one
    before it, and at most 1. Rejecting where the adjusted value is <= alpha keeps the chance of even
    one false "difference" among all m at most alpha."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def false_alarm_rate(n_a: int, n_b: int, alpha: float = ALPHA) -> float:
    """The chance that a comparison of these group sizes says "different" when nothing differs: the
    share of all equally likely splits whose p-value is <= alpha (at most alpha; with 3 against 5
    seeds, 2/56, the two cleanest splits)."""
    values = 2.0 ** np.arange(n_a + n_b)  # no two groups with the same sum: no ties, the usual case
    null = stats.permutation_test((values[:n_a], values[n_a:]), _sum_first, permutation_type="independent",
                                  vectorized=True, n_resamples=np.inf).null_distribution
    p = np.minimum(1.0, 2 * np.minimum((null[None, :] >= null[:, None]).mean(1),
                                       (null[None, :] <= null[:, None]).mean(1)))
    return float((p <= alpha).mean())


def seeds_needed(comparisons: int, baseline_seeds: int, alpha: float = ALPHA) -> int:
    """The fewest seeds a variant needs, against a baseline with `baseline_seeds`, for its cleanest
    possible split to pass the first (strictest) step of Holm's correction over `comparisons`."""
    if comparisons < 1 or baseline_seeds < 1:
        raise ValueError(f"seeds_needed needs at least one comparison and one baseline seed, not "
                         f"{comparisons} and {baseline_seeds}")
    n = 1
    while smallest_p(n, baseline_seeds) > alpha / comparisons:
        n += 1
    return n
