"""What very large learning rates do to the 2-2-2 network, from its equations: the rate at which
training stalls (found by a search over η, not picked) and the curvature that explains why this
network tolerates rates that would wreck a real one.

    from s6lib.large_rates import stall_rate, sharpness
    stall = stall_rate()            # the first η at which the sheet's 80 steps end worse than they began
    sharpness(CLASS_VALUES)         # the largest eigenvalue of ∂²E_total/∂w², from SymPy

Gradient descent on a bowl of curvature λ converges only when η < 2/λ: a larger step overshoots
the bottom by more than it started from. `sharpness` is that λ for the steepest direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from s6lib import backprop as bp

THRESHOLD = 1e-4  # "trained": E_total below it (the learning-rates chapter's bar)
LONG_RUN = 2000  # updates: long enough for every class rate to get there

@dataclass(frozen=True)
class Stall:
    """The search's result: `rate` is where `steps` steps of the sheet (steps − 1 updates, as in
    `bp.iterate`) first end with E_total at least as high as it started (to a relative
    `tolerance`), searched from `low` on a log grid of `points` rates up to `high`, then by
    narrowing the bracket; `error` is E_total at the last step just above `rate`, `below` just
    below it."""

    rate: float
    steps: int
    low: float
    high: float
    points: int
    tolerance: float
    error: float
    below: float


def _ends_worse(curves):
    """For each rate (column): do the updates end with E_total at least its starting value?"""
    values = curves.to_numpy()
    return values[-1] >= values[0]


def stall_rate(values=bp.CLASS_VALUES, steps=bp.SHEET_STEPS, low=1.0, high=1e4, points=401, tolerance=1e-4):
    """The smallest learning rate, searched upward from `low`, at which `steps` steps of gradient
    descent (the sheet's rows) end with a higher E_total than they started with.

    A log grid of `points` rates from `low` to `high` finds the first such rate; the bracket
    between it and the grid point below is then narrowed (33 rates at a time) until its ends
    differ by less than `tolerance` (relative). ValueError when no rate in the grid stalls.
    """
    if not 0 < low < high:
        raise ValueError(f"need 0 < low < high, got low={low!r}, high={high!r}")
    grid = np.geomspace(low, high, points)
    worse = _ends_worse(bp.descend(values, grid, steps))
    if worse[0]:
        raise ValueError(f"η = {low:g} already ends worse than it starts: search from a smaller `low`")
    if not worse.any():
        raise ValueError(f"no rate up to η = {high:g} stalls within {steps} steps: search up to a larger `high`")
    first = int(np.argmax(worse))
    lo, hi = grid[first - 1], grid[first]
    while hi / lo - 1 > tolerance:
        bracket = np.geomspace(lo, hi, 33)
        worse = _ends_worse(bp.descend(values, bracket, steps))
        k = int(np.argmax(worse[1:])) + 1  # the ends are known: lo converges, hi does not
        lo, hi = bracket[k - 1], bracket[k]
    ends = bp.descend(values, (lo, hi), steps).to_numpy()[-1]
    return Stall(float(hi), steps, low, high, points, tolerance, float(ends[1]), float(ends[0]))


@cache
def _hessian():
    """∂²E_total/∂wi∂wj for the eight weights, from SymPy's gradients, compiled to float64."""
    rows = [[sp.diff(bp.derived_gradient(wi), wj) for wj in bp.WEIGHTS] for wi in bp.WEIGHTS]
    parameters = sp.symbols(bp.INPUT_NAMES + bp.BIAS_NAMES)
    return sp.lambdify(parameters, rows, modules=[{"sigmoid": bp._stable_sigmoid}, "numpy"], cse=True)


def hessian(values):
    """The 8 × 8 matrix of second derivatives of E_total in w1..w8 at `values`."""
    v = bp.check_values(values)
    return np.array(_hessian()(*(v[name] for name in bp.INPUT_NAMES + bp.BIAS_NAMES)), dtype=np.float64)


def sharpness(values):
    """The largest eigenvalue of the Hessian at `values`: the curvature λ of the steepest direction.
    Near a minimum, gradient descent with η > 2/λ overshoots along it."""
    return float(np.linalg.eigvalsh(hessian(values)).max())


def weights_after(values, learning_rate, updates):
    """The values with the weights as `updates` updates at `learning_rate` leave them."""
    sheet = bp.iterate(values, learning_rate, updates + 1)
    return bp.check_values(values) | {w: float(sheet.loc[updates + 1, w]) for w in bp.WEIGHT_NAMES}
