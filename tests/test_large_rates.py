"""Where training on the class network stalls, found by search, and the curvature behind it."""

import numpy as np
import pytest

from s6lib import backprop as bp
from s6lib import large_rates


def test_the_stall_rate_is_where_the_updates_first_end_worse_than_they_began():
    stall = large_rates.stall_rate(bp.CLASS_VALUES, steps=bp.SHEET_STEPS, points=201)
    curves = bp.descend(bp.CLASS_VALUES, (stall.rate / (1 + stall.tolerance), stall.rate), bp.SHEET_STEPS)
    start, end = curves.iloc[0], curves.iloc[-1]
    assert end.iloc[1] >= start.iloc[1] and end.iloc[0] < start.iloc[0]  # stalls at the rate, not just below
    assert stall.error == pytest.approx(end.iloc[1]) and stall.below < start.iloc[0]
    grid = np.geomspace(stall.low, stall.rate, 60)[:-1]  # every rate searched below it converges
    below = bp.descend(bp.CLASS_VALUES, grid, bp.SHEET_STEPS)
    assert (below.iloc[-1] < below.iloc[0]).all()
    assert 100 < stall.rate < 5000  # far beyond the class rates, as the chapter says; a search, not a pick


def test_a_search_that_cannot_bracket_says_what_to_change():
    with pytest.raises(ValueError, match="search up to a larger `high`"):
        large_rates.stall_rate(bp.CLASS_VALUES, steps=20, low=1.0, high=10.0, points=5)
    with pytest.raises(ValueError, match="search from a smaller `low`"):
        large_rates.stall_rate(bp.CLASS_VALUES, steps=20, low=5000.0, high=1e4, points=5)
    with pytest.raises(ValueError, match="need 0 < low < high"):
        large_rates.stall_rate(low=10.0, high=1.0)


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
