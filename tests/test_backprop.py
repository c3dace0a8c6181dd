"""s6lib.backprop.network against the class sheet, Mazur's published example and torch autograd."""

import math
import re

import numpy as np
import pytest
import sympy as sp

from s6lib.backprop import network as bp
from s6lib.backprop.network import CLASS_VALUES, GRADIENT_COLUMNS, MAZUR_LEARNING_RATE, MAZUR_VALUES


def test_first_forward_pass_of_the_class_network():
    row = bp.forward_pass(CLASS_VALUES)
    expected = {
        "h1": 0.0275, "a_h1": 0.5068745668, "a_o1": 0.6064777322, "a_o2": 0.6304808355,
        "E_total": 0.014181377938,
    }
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, abs=1e-10), name
    gradients = [0.00031699340, 0.00063398679, 0.00035177632, 0.00070355264,
                 0.01288081863, 0.01297608491, 0.01540834828, 0.01552230812]
    np.testing.assert_allclose(row[list(GRADIENT_COLUMNS)].to_numpy(), gradients, rtol=0, atol=1e-10)


def _random_values(rng, biases):
    values = {f"w{k}": rng.uniform(-3, 3) for k in range(1, 9)}
    values |= {"i1": rng.uniform(-2, 2), "i2": rng.uniform(-2, 2), "t1": rng.uniform(0, 1), "t2": rng.uniform(0, 1)}
    if biases:
        values |= {"b1": rng.uniform(-2, 2), "b2": rng.uniform(-2, 2)}
    return values


@pytest.mark.parametrize("biases", [False, True], ids=["no biases", "biases"])
def test_gradients_equal_torch_autograd(biases):
    rng = np.random.default_rng(6)
    for _ in range(100):
        values = _random_values(rng, biases)
        ours = bp.forward_pass(values)
        for column, expected in bp.autograd_gradients(values).items():
            assert abs(ours[column] - expected) <= 1e-12, (column, values)


# Mazur, "A Step by Step Backpropagation Example" (2015), as published: each
# number is checked to half a unit in its last published digit.
MAZUR_FORWARD = {
    "h1": "0.3775", "a_h1": "0.593269992", "a_h2": "0.596884378",
    "a_o1": "0.75136507", "a_o2": "0.772928465", "E_total": "0.298371109",
    "∂E/∂w5": "0.082167041", "∂E/∂w1": "0.000438568",
}
MAZUR_UPDATED = {
    "w1": "0.149780716", "w2": "0.19956143", "w3": "0.24975114", "w4": "0.29950229",
    "w5": "0.35891648", "w6": "0.408666186", "w7": "0.511301270", "w8": "0.561370121",
}


def _published_tolerance(text):
    return 0.5 * 10.0 ** -len(text.split(".")[1]) + 1e-15


def test_mazur_example_reproduces_his_published_numbers():
    sheet = bp.iterate(MAZUR_VALUES, MAZUR_LEARNING_RATE, steps=2)
    for name, text in MAZUR_FORWARD.items():
        assert abs(sheet.loc[1, name] - float(text)) <= _published_tolerance(text), name
    for name, text in MAZUR_UPDATED.items():
        assert abs(sheet.loc[2, name] - float(text)) <= _published_tolerance(text), name


def test_chain_rule_forms_are_proven_equal_to_sympy_derivatives():
    assert bp.sigmoid_derivative_holds()
    for weight, form in bp.CHAIN_RULE.items():
        assert bp.matches_derivation(form, weight), weight


def test_original_sheet_w3_w4_formulas_are_caught():
    proven = {str(w): bp.matches_derivation(form, w) for w, form in bp.ORIGINAL_SHEET_GRADIENTS.items()}
    assert proven == {f"w{k}": k not in (3, 4) for k in range(1, 9)}
    # The faulty formula gives the value stored in the original sheet.
    sheet_value = bp.evaluate(bp.ORIGINAL_SHEET_GRADIENTS[bp.w3], CLASS_VALUES)
    assert sheet_value == pytest.approx(0.00035186866513539378, abs=1e-15)
    assert bp.forward_pass(CLASS_VALUES)["∂E/∂w3"] == pytest.approx(0.00035177632, abs=1e-11)


def test_each_row_applies_gradient_descent_to_the_row_before():
    eta = 0.8
    sheet = bp.iterate(CLASS_VALUES, eta, steps=5)
    assert list(sheet.columns) == list(bp.COLUMNS)
    assert list(sheet.index) == [1, 2, 3, 4, 5]
    for step in range(1, 5):
        before, after = sheet.loc[step], sheet.loc[step + 1]
        for w, g in zip(bp.WEIGHT_NAMES, GRADIENT_COLUMNS):
            assert after[w] == before[w] - eta * before[g]
    assert sheet.loc[5].equals(bp.forward_pass(sheet.loc[5, list(bp.INPUT_NAMES)].to_dict()).rename(5))
    assert sheet["E_total"].is_monotonic_decreasing


def test_a_huge_learning_rate_stays_finite():
    sheet = bp.iterate(CLASS_VALUES, 100, steps=300)
    assert np.isfinite(sheet.to_numpy()).all()
    saturated = bp.forward_pass(dict(CLASS_VALUES, w5=1e4, w6=1e4, w7=-1e4, w8=-1e4))
    assert np.isfinite(saturated.to_numpy()).all()
    assert saturated["a_o1"] == 1.0 and saturated["a_o2"] == 0.0


def test_updates_to_reach_a_threshold():
    curves = bp.loss_curves((0.5, 2.0), steps=80)
    first_below = curves.index[curves[2.0] < 1e-3][0]
    assert bp.updates_to_reach(curves[2.0], 1e-3) == first_below - 1
    assert curves.loc[first_below - 1, 2.0] >= 1e-3
    assert bp.updates_to_reach(curves[0.5], 1e-9) is None
    assert bp.updates_to_reach(curves[0.5], 1.0) == 0


@pytest.mark.parametrize("rate", [0, -0.5, math.nan, math.inf, -math.inf, "0.5", None, True])
def test_bad_learning_rate_says_what_to_do(rate):
    with pytest.raises(ValueError, match=r"learning_rate must be a finite number > 0.*try"):
        bp.iterate(CLASS_VALUES, rate, steps=3)


@pytest.mark.parametrize("steps", [0, -1, 2.5, "10", True])
def test_bad_step_count_says_what_to_do(steps):
    with pytest.raises(ValueError, match=r"steps must be a whole number ≥ 1"):
        bp.iterate(CLASS_VALUES, 0.5, steps=steps)


def test_bad_initial_values_say_what_to_do():
    without_w3 = {k: v for k, v in CLASS_VALUES.items() if k != "w3"}
    with pytest.raises(ValueError, match=r"missing initial value\(s\) w3: give all of i1, i2"):
        bp.iterate(without_w3, 0.5, steps=3)
    with pytest.raises(ValueError, match=r"unknown initial value\(s\) W1: the names are"):
        bp.forward_pass(dict(CLASS_VALUES, W1=0.1))
    for bad in (math.nan, math.inf, "0.1", None):
        with pytest.raises(ValueError, match=r"initial value\(s\) i1 must be finite numbers"):
            bp.forward_pass(dict(CLASS_VALUES, i1=bad))


def test_every_gradient_is_a_delta_times_the_input_that_feeds_its_weight():
    """The derivation names the four deltas; each ∂E/∂w is δ (of the unit w feeds) × (what feeds w)."""
    feeds = {"w1": "i1", "w2": "i2", "w3": "i1", "w4": "i2", "w5": "a_h1", "w6": "a_h2", "w7": "a_h1", "w8": "a_h2"}
    unit = {"w1": "h1", "w2": "h1", "w3": "h2", "w4": "h2", "w5": "o1", "w6": "o1", "w7": "o2", "w8": "o2"}
    for weight, form in bp.CHAIN_RULE.items():
        w = str(weight)
        assert form == sp.Symbol(f"delta_{unit[w]}") * sp.Symbol(feeds[w]), w
    # the recursion: a hidden delta is built from the output deltas, never the other way
    for hidden in bp.HIDDEN_DELTAS:
        assert set(bp.OUTPUT_DELTAS) <= bp.DELTAS[hidden].free_symbols
    for output in bp.OUTPUT_DELTAS:
        assert not set(bp.HIDDEN_DELTAS) & bp.DELTAS[output].free_symbols


def test_bias_gradients_are_proven_and_equal_torch_autograd():
    for bias, form in bp.BIAS_GRADIENTS.items():
        assert bp.matches_derivation(form, bias), bias
    rng = np.random.default_rng(7)
    for values in [MAZUR_VALUES] + [_random_values(rng, biases=True) for _ in range(30)]:
        expected = bp.autograd_gradients(values, biases=True)
        for bias, form in bp.BIAS_GRADIENTS.items():
            assert abs(bp.evaluate(form, values) - expected[f"∂E/∂{bias}"]) <= 1e-12, (bias, values)


def test_descend_gives_the_curves_of_iterate_for_many_rates_at_once():
    rates = (0.1, 0.5, 2.0, 100.0)
    together = bp.descend(CLASS_VALUES, rates, steps=40)
    assert list(together.columns) == list(rates) and list(together.index) == list(range(1, 41))
    np.testing.assert_allclose(together.to_numpy(), bp.loss_curves(rates, steps=40).to_numpy(), rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        bp.descend(CLASS_VALUES, (0.5, -1.0))


def test_the_original_sheets_formulas_give_their_own_curve():
    faulty = bp.iterate(CLASS_VALUES, 0.5, steps=30, gradients=bp.ORIGINAL_SHEET_GRADIENTS)
    correct = bp.iterate(CLASS_VALUES, 0.5, steps=30)
    assert faulty.loc[1, "∂E/∂w3"] == pytest.approx(0.00035186866513539378, abs=1e-15)
    assert faulty.loc[1, "∂E/∂w5"] == correct.loc[1, "∂E/∂w5"]  # only w3 and w4 differ
    gap = (faulty["E_total"] - correct["E_total"]).abs()
    assert 0 < gap.max() < 1e-8  # a different sheet, with a loss curve nobody could tell apart
    with pytest.raises(ValueError, match="a formula for each of w1..w8"):
        bp.iterate(CLASS_VALUES, 0.5, steps=3, gradients={bp.w1: bp.CHAIN_RULE[bp.w1]})


def test_the_step_by_hand_is_the_sheets_step():
    """The dozen lines of arithmetic the backprop-table chapter shows give bp.iterate's rows."""
    values = dict(bp.CLASS_VALUES)
    sheet = bp.iterate(values, 0.8, steps=30)
    for step in sheet.index:
        row = sheet.loc[step]
        assert all(abs(values[w] - row[w]) < 1e-12 for w in bp.WEIGHT_NAMES), step
        values, e_total = bp.step_by_hand(values, 0.8)
        assert abs(e_total - row["E_total"]) < 1e-12, step


def test_rising_updates_are_the_updates_that_raise_the_error():
    curves = bp.loss_curves((0.5, 100.0), bp.CLASS_VALUES, steps=6)
    assert bp.rising_updates(curves[0.5]) == []
    assert bp.rising_updates(curves[100.0]) == [1, 2, 4]
    assert bp.rising_updates([3.0, 2.0, 2.5, 1.0]) == [2]


def test_above_the_error_resolution_float64_gives_e_total_to_one_percent():
    """Recompute E_total from the same float64 weights with 50 digits (mpmath): every value at or above
    `error_resolution` is right to 1 %, and the runs do go below it (so the page must say so)."""
    import mpmath

    mpmath.mp.dps = 50
    resolution = bp.error_resolution(bp.CLASS_VALUES)

    def sig(x):
        return 1 / (1 + mpmath.exp(-x))

    went_below = False
    for rate in (10.0, 20.0, 50.0):
        for _, row in bp.iterate(bp.CLASS_VALUES, rate).iterrows():
            v = {k: mpmath.mpf(float(row[k])) for k in bp.INPUT_NAMES}
            a_h1, a_h2 = sig(v["w1"] * v["i1"] + v["w2"] * v["i2"]), sig(v["w3"] * v["i1"] + v["w4"] * v["i2"])
            a_o1, a_o2 = sig(v["w5"] * a_h1 + v["w6"] * a_h2), sig(v["w7"] * a_h1 + v["w8"] * a_h2)
            exact = (a_o1 - v["t1"]) ** 2 / 2 + (a_o2 - v["t2"]) ** 2 / 2
            if row["E_total"] >= resolution:
                assert abs(row["E_total"] / float(exact) - 1) < 0.01, (rate, row.name)
            else:
                went_below = True
    assert went_below
    assert resolution == pytest.approx(2 * 0.5 * (2 * 2.0**-53 / 0.01) ** 2)  # the spacing at ½ is 2⁻⁵³


# --- derived by hand: nudges, matrices, costs, several examples, the graph ------------------------


def _plain_error(v):
    """E_total in plain NumPy, written out again here: no library code."""
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    a_h1, a_h2 = sig(v["w1"] * v["i1"] + v["w2"] * v["i2"]), sig(v["w3"] * v["i1"] + v["w4"] * v["i2"])
    a_o1, a_o2 = sig(v["w5"] * a_h1 + v["w6"] * a_h2), sig(v["w7"] * a_h1 + v["w8"] * a_h2)
    return 0.5 * (a_o1 - v["t1"]) ** 2 + 0.5 * (a_o2 - v["t2"]) ** 2


@pytest.mark.parametrize("weight", ["w5", "w1"])
def test_a_nudge_is_two_forward_passes_and_its_slope_is_the_gradient(weight):
    found = bp.nudge(CLASS_VALUES, weight, 1e-3)
    up, down = dict(CLASS_VALUES), dict(CLASS_VALUES)
    up[weight] += 1e-3
    down[weight] -= 1e-3
    assert found.change == pytest.approx(_plain_error(up) - _plain_error(CLASS_VALUES), rel=1e-9)
    assert found.gradient == pytest.approx(bp.autograd_gradients(CLASS_VALUES)[f"∂E/∂{weight}"], rel=1e-12)
    assert found.slope == pytest.approx(found.gradient, rel=1e-3)  # one-sided: error of order the step
    assert abs(found.central_slope - found.gradient) < abs(found.slope - found.gradient) / 100  # of order step²
    with pytest.raises(ValueError, match="no parameter named"):
        bp.nudge(CLASS_VALUES, "w9")
    with pytest.raises(ValueError, match="non-zero"):
        bp.nudge(CLASS_VALUES, "w5", 0.0)


def test_the_matrix_form_gives_the_scalar_gradients_for_any_values():
    rng = np.random.default_rng(3)
    for values in [CLASS_VALUES, MAZUR_VALUES, *({k: float(rng.normal()) for k in bp.INPUT_NAMES} for _ in range(20))]:
        result = bp.matrix_pass(values)
        torch_grads = bp.autograd_gradients(values)
        scalar = bp.forward_pass(values)
        for name, value in bp.matrix_gradients(result).items():
            assert value == pytest.approx(torch_grads[name], rel=1e-12, abs=1e-15), name
            assert value == pytest.approx(scalar[name], rel=1e-12, abs=1e-15), name
        assert result.a_o.tolist() == pytest.approx([scalar["a_o1"], scalar["a_o2"]], rel=1e-12)


class _Counted(float):
    """A float that counts the multiplications made with it."""

    count = 0

    def __mul__(self, other):
        _Counted.count += 1
        return _Counted(float(self) * float(other))

    __rmul__ = __mul__

    def __add__(self, other):
        return _Counted(float(self) + float(other))

    __radd__ = __add__

    def __sub__(self, other):
        return _Counted(float(self) - float(other))

    def __rsub__(self, other):
        return _Counted(float(other) - float(self))


@pytest.mark.parametrize("layers", [(2, 2, 2), (3, 4, 2), (5, 3, 4, 2)])
def test_the_cost_counts_are_the_multiplications_a_loop_makes(layers):
    """Run a forward and a backward pass with plain loops over counting numbers."""
    rng = np.random.default_rng(0)
    W = [[[_Counted(rng.normal()) for _ in range(n_in)] for _ in range(n_out)]
         for n_in, n_out in zip(layers[:-1], layers[1:])]
    x = [_Counted(rng.normal()) for _ in range(layers[0])]
    t = [_Counted(0.5) for _ in range(layers[-1])]
    sig = lambda z: _Counted(1 / (1 + np.exp(-float(z))))  # noqa: E731  not a multiplication
    _Counted.count = 0
    acts = [x]
    for weights in W:
        acts.append([sig(sum((w * a for w, a in zip(row, acts[-1])), _Counted(0))) for row in weights])
    forward = _Counted.count
    delta = [(a - tk) * a * (1 - a) for a, tk in zip(acts[-1], t)]
    grads = []
    for k in range(len(W) - 1, -1, -1):
        grads.append([[d * a for a in acts[k]] for d in delta])
        if k:
            back = [sum((W[k][j][i] * delta[j] for j in range(len(delta))), _Counted(0)) for i in range(len(acts[k]))]
            delta = [b * a * (1 - a) for b, a in zip(back, acts[k])]
    counted = bp.costs(layers, biases=False)
    assert (counted.forward, counted.backward) == (forward, _Counted.count - forward)
    assert counted.finite_differences == counted.weights * forward  # one more forward pass per weight
    assert bp.costs(layers).parameters == counted.weights + sum(layers[1:])
    with pytest.raises(ValueError, match="at least two layers"):
        bp.costs((784,))


def test_the_gradient_of_the_average_loss_is_the_average_gradient():
    import torch

    rows = bp.per_example(CLASS_VALUES, bp.EXAMPLES)
    assert len(rows) == len(bp.EXAMPLES)
    w = {k: torch.tensor(CLASS_VALUES[k], dtype=torch.float64, requires_grad=True) for k in bp.WEIGHT_NAMES}
    total = 0
    for example in bp.EXAMPLES:
        a_h1 = torch.sigmoid(w["w1"] * example["i1"] + w["w2"] * example["i2"])
        a_h2 = torch.sigmoid(w["w3"] * example["i1"] + w["w4"] * example["i2"])
        a_o1, a_o2 = torch.sigmoid(w["w5"] * a_h1 + w["w6"] * a_h2), torch.sigmoid(w["w7"] * a_h1 + w["w8"] * a_h2)
        total = total + 0.5 * (a_o1 - example["t1"]) ** 2 + 0.5 * (a_o2 - example["t2"]) ** 2
    mean = total / len(bp.EXAMPLES)
    mean.backward()
    assert rows["E_total"].mean() == pytest.approx(mean.item(), rel=1e-12)
    for name in bp.WEIGHT_NAMES:
        assert rows[f"∂E/∂{name}"].mean() == pytest.approx(w[name].grad.item(), rel=1e-12), name
    with pytest.raises(ValueError, match="at least one example"):
        bp.per_example(CLASS_VALUES, ())


def test_the_graph_gradients_are_autograds_and_contributions_add():
    import torch

    nodes, edges = bp.graph_values(CLASS_VALUES)
    v = {k: torch.tensor(x, dtype=torch.float64, requires_grad=True) for k, x in CLASS_VALUES.items()}
    h1 = v["w1"] * v["i1"] + v["w2"] * v["i2"]
    a_h1, a_h2 = torch.sigmoid(h1), torch.sigmoid(v["w3"] * v["i1"] + v["w4"] * v["i2"])
    o1, o2 = v["w5"] * a_h1 + v["w6"] * a_h2, v["w7"] * a_h1 + v["w8"] * a_h2
    a_o1, a_o2 = torch.sigmoid(o1), torch.sigmoid(o2)
    e1, e2 = 0.5 * (a_o1 - v["t1"]) ** 2, 0.5 * (a_o2 - v["t2"]) ** 2
    inner = {"h1": h1, "a_h1": a_h1, "o1": o1, "o2": o2, "a_o1": a_o1, "a_o2": a_o2, "E1": e1, "E2": e2}
    for tensor in inner.values():
        tensor.retain_grad()
    (e1 + e2).backward()
    for name, tensor in inner.items():
        assert nodes[name][0] == pytest.approx(tensor.item(), rel=1e-12), name
        assert nodes[name][1] == pytest.approx(tensor.grad.item(), rel=1e-12), name
    for name in ("w1", "w5"):
        assert nodes[name][1] == pytest.approx(v[name].grad.item(), rel=1e-12), name
    # a_h1 feeds o1 and o2: its gradient is the sum of the two paths' products
    assert nodes["a_h1"][1] == pytest.approx(edges[("a_h1", "o1")] * nodes["o1"][1]
                                             + edges[("a_h1", "o2")] * nodes["o2"][1], rel=1e-15)


def test_the_graph_figure_writes_each_nodes_numbers_inside_its_box():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from s6lib.backprop.plots import draw_graph

    nodes, _ = bp.graph_values(CLASS_VALUES)
    ax = draw_graph(CLASS_VALUES)
    boxes = [p.get_bbox() for p in ax.patches]
    gradients = [t for t in ax.texts if t.get_text().startswith("grad ")]
    assert sorted(float(t.get_text().split()[1]) for t in gradients) == pytest.approx(
        sorted(g for _, g in nodes.values()), rel=1e-3)  # one red number per node, its gradient to 4 digits
    for text in gradients:
        x, y = text.get_position()
        assert sum(b.x0 <= x <= b.x1 and b.y0 <= y <= b.y1 for b in boxes) == 1, text.get_text()
    plt.close("all")


def test_the_sheet_error_captions_sides_match_the_panels():
    """Fig. 2.3 stacks its two panels: its caption may say above/below, not left/right."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from s6lib.backprop.plots import plot_sheet_error

    from conftest import ROOT

    curve = bp.iterate(CLASS_VALUES, 0.5, steps=5)["E_total"]
    top, bottom = (ax.get_position() for ax in plot_sheet_error(curve, curve * 1.001, 0.5).axes)
    plt.close("all")
    stacked = top.y0 > bottom.y1 and top.x0 == pytest.approx(bottom.x0)
    cells = json.loads((ROOT / "book/backprop/partial_derivatives.ipynb").read_text())["cells"]
    caption = next(c["metadata"]["mystnb"]["figure"]["caption"] for c in cells
                   if c["metadata"].get("mystnb", {}).get("figure", {}).get("name")
                   == "fig-partial-derivatives-sheet-error")
    sides = {"left", "right"} if stacked else {"above", "below"}
    assert not sides & set(re.findall(r"[a-z]+", caption.lower())), caption
