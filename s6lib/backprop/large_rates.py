"""What very large learning rates do to the 2-2-2 network, from its equations: which rates reach the
threshold within the sheet's steps and from which rate on the runs stall on the plateau (a search
over a grid of η, not a pick), and the curvature that explains why this network tolerates rates
that would wreck a real one.

    from s6lib.backprop.large_rates import regimes, sharpness
    found = regimes()               # found.reach_up_to, found.stall_from: numbers, for the chapter to state
    sharpness(CLASS_VALUES)         # the largest eigenvalue of ∂²E_total/∂w², from SymPy

Gradient descent on a bowl of curvature λ converges only when η < 2/λ: a larger step overshoots
the bottom by more than it started from. `sharpness` is that λ for the steepest direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy as sp

from s6lib.backprop import network as bp

THRESHOLD = 1e-4  # "trained": E_total below it (the learning-rates chapter's bar)
LONG_RUN = 2000  # updates: long enough for every class rate to get there


def error_ceiling(values=bp.CLASS_VALUES):
    """The largest E_total any weights can approach: each output a sigmoid, at best 0 or 1, as far as
    it gets from its target. With targets of ½ it is 2 × ½ (½)² = ¼."""
    v = bp.check_values(values)
    return sum(0.5 * max(v[t], 1 - v[t]) ** 2 for t in ("t1", "t2"))


PLATEAU = 0.99  # a run is "on the plateau" while E_total is at least this fraction of the ceiling


@dataclass(frozen=True)
class Regimes:
    """What `steps` steps of the sheet do on a log grid of `points` rates from `low` to `high`.

    `reach_up_to`: the largest grid rate such that every grid rate from `low` to it brings E_total
    below `threshold` within the steps. `stall_from`: the smallest grid rate such that it and every
    grid rate above it end the steps still on the plateau (E_total ≥ `plateau` × `ceiling`: the
    outputs saturated, the weights no longer moving). Between the two lie `between` grid rates,
    `between_reaching` of which reach the threshold: runs that sit on the plateau and leave it at a
    step that jumps about with η, so where the last step falls decides them."""

    steps: int
    threshold: float
    low: float
    high: float
    points: int
    ceiling: float
    plateau: float
    reach_up_to: float
    stall_from: float
    between: int
    between_reaching: int


def regimes(values=bp.CLASS_VALUES, steps=bp.SHEET_STEPS, threshold=THRESHOLD, low=1.0, high=1e4, points=4001,
            plateau=PLATEAU):
    """Sort a log grid of learning rates into those that reach `threshold` within `steps` steps, those
    that end on the plateau, and the knife-edge between (see `Regimes`). ValueError when the grid
    does not start with a rate that reaches the threshold or does not end with one that stalls."""
    if not 0 < low < high:
        raise ValueError(f"need 0 < low < high, got low={low!r}, high={high!r}")
    grid = np.geomspace(low, high, points)
    curves = bp.descend(values, grid, steps).to_numpy()
    reaches = (curves < threshold).any(axis=0)
    ceiling = error_ceiling(values)
    stalls = curves[-1] >= plateau * ceiling
    if not reaches[0]:
        raise ValueError(f"η = {low:g} does not reach {threshold:g} within {steps} steps: "
                         "search from a larger `low`, or give more steps")
    if not stalls[-1]:
        raise ValueError(f"η = {high:g} does not stall within {steps} steps: search up to a larger `high`")
    last_reach = int(np.argmin(reaches)) - 1 if not reaches.all() else points - 1
    first_stall = points - int(np.argmin(stalls[::-1]))  # the start of the last run of stalls
    inside = slice(last_reach + 1, first_stall)
    return Regimes(steps, threshold, low, high, points, ceiling, plateau, float(grid[last_reach]),
                   float(grid[first_stall]), int(first_stall - last_reach - 1), int(reaches[inside].sum()))


@cache
def _hessian():
    """∂²E_total/∂wi∂wj for the eight weights, from SymPy's gradients, compiled to float64."""
    rows = [[sp.diff(bp.derived_gradient(wi), wj) for wj in bp.WEIGHTS] for wi in bp.WEIGHTS]
    parameters = sp.symbols(bp.INPUT_NAMES + bp.BIAS_NAMES)
    return sp.lambdify(parameters, rows, modules=[{"sigmoid": bp.stable_sigmoid}, "numpy"], cse=True)


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
