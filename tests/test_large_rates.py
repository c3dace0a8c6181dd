"""Which rates reach the threshold and which stall on the plateau, found by search, and the curvature
behind it."""

import numpy as np
import pytest

from s6lib.backprop import large_rates
from s6lib.backprop import network as bp


def _run(rate, steps=bp.SHEET_STEPS):
    return bp.iterate(bp.CLASS_VALUES, rate, steps)["E_total"]  # one rate at a time: not the grid's code


def test_the_regimes_split_the_rates_as_their_own_runs_do():
    found = large_rates.regimes(bp.CLASS_VALUES, steps=bp.SHEET_STEPS, points=801)
    assert found.ceiling == 2 * 0.5 * 0.5**2  # both outputs at 0 or 1, half a unit from their targets
    grid = np.geomspace(found.low, found.high, found.points)
    for rate in grid[grid <= found.reach_up_to][::40]:  # every rate up to it reaches the threshold
        assert (_run(rate) < found.threshold).any(), rate
    nxt = grid[grid > found.reach_up_to][0]
    assert not (_run(nxt) < found.threshold).any()  # and the next one does not: the boundary is found
    for rate in (found.stall_from, 1.5 * found.stall_from, found.high):
        assert _run(rate).iloc[-1] >= found.plateau * found.ceiling, rate  # still on the plateau at the end
    assert found.reach_up_to < found.stall_from
    between = grid[(grid > found.reach_up_to) & (grid < found.stall_from)]
    assert found.between == len(between)
    assert found.between_reaching == sum((_run(r) < found.threshold).any() for r in between)


def test_the_knife_edge_is_the_cut_at_the_last_step():
    """Given more steps, rates that stalled within the sheet's steps escape the plateau."""
    short = large_rates.regimes(bp.CLASS_VALUES, steps=bp.SHEET_STEPS, points=401)
    assert (_run(short.stall_from, large_rates.LONG_RUN) < large_rates.THRESHOLD).any()


def test_a_search_that_cannot_bracket_says_what_to_change():
    with pytest.raises(ValueError, match="search up to a larger `high`"):
        large_rates.regimes(bp.CLASS_VALUES, steps=80, low=10.0, high=100.0, points=5)
    with pytest.raises(ValueError, match="search from a larger `low`"):
        large_rates.regimes(bp.CLASS_VALUES, steps=20, low=0.01, high=1e4, points=5)
    with pytest.raises(ValueError, match="need 0 < low < high"):
        large_rates.regimes(low=10.0, high=1.0)


def test_the_hessian_is_symmetric_and_its_largest_eigenvalue_is_the_sharpness():
    hessian = large_rates.hessian(bp.CLASS_VALUES)
    assert hessian.shape == (8, 8) and np.allclose(hessian, hessian.T, rtol=0, atol=1e-15)
    assert large_rates.sharpness(bp.CLASS_VALUES) == pytest.approx(np.linalg.eigvalsh(hessian).max())


def test_large_rates_end_where_the_curvature_fits_the_step():
    """Past 2/λ of the first minimum, gradient descent settles where λ < 2/η (the edge of stability)."""
    limit = 2 / large_rates.sharpness(large_rates.weights_after(bp.CLASS_VALUES, 0.5, large_rates.LONG_RUN))
    for rate in (100.0, 200.0):
        assert rate > limit
        assert large_rates.sharpness(large_rates.weights_after(bp.CLASS_VALUES, rate, bp.SHEET_STEPS - 1)) < 2 / rate
