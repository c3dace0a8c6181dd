"""The worked example: every number substituted by SymPy into the library's own equations."""

import re

import numpy as np
import pytest
import sympy as sp

from s6lib.backprop import by_hand
from s6lib.backprop import network as bp
from s6lib.backprop.network import CLASS_VALUES, MAZUR_VALUES


@pytest.mark.parametrize("values", [CLASS_VALUES, MAZUR_VALUES], ids=["class", "mazur"])
def test_the_substituted_values_are_the_librarys(values):
    row = bp.forward_pass(values)
    forward = by_hand.forward_steps(values)
    assert list(forward) == list(bp.FORWARD_COLUMNS)
    for name, step in forward.items():
        assert abs(step.value - row[name]) <= 1e-12, name
    backward = by_hand.backward_steps(values)
    for w in bp.WEIGHT_NAMES:
        assert abs(backward[f"∂E/∂{w}"].value - row[f"∂E/∂{w}"]) <= 1e-12, w
    sheet = bp.iterate(values, 0.5, steps=2)
    for w, step in by_hand.update_steps(values, 0.5).items():
        assert abs(step.value - sheet.loc[2, w]) <= 1e-12, w


def test_each_form_shown_is_the_librarys_expression():
    """What the page prints as 'h1 = w1 i1 + w2 i2', 'δ_o1 = …', '∂E/∂w5 = (a_o1 − t1)…' is the
    library's equation (or equal to it, symbolically)."""
    for name, step in by_hand.forward_steps(MAZUR_VALUES).items():
        library = bp.FORWARD[sp.Symbol(name)]
        assert all(sp.simplify(form.rewrite(sp.exp) - library.rewrite(sp.exp)) == 0 for form in step.forms), name
    for weight in bp.WEIGHTS:
        full = by_hand.chain_rule_step(weight)
        assert bp.matches_derivation(full.forms[0].doit(), weight), weight
        assert abs(full.value - bp.forward_pass(CLASS_VALUES)[f"∂E/∂{weight}"]) <= 1e-12


def _math(step):
    return " ".join(step.latex_lines())


def test_the_lines_read_as_a_student_writes_them():
    forward, backward = by_hand.forward_steps(), by_hand.backward_steps()
    h1 = forward["h1"].latex_lines()
    assert h1 == [r"h_{1} &= w_{1}\,i_{1} + w_{2}\,i_{2}", r"&= 0.15 \times 0.05 + 0.2 \times 0.1", "&= 0.0275"]
    assert _math(forward["a_h1"]).endswith(r"&= \frac{1}{1 + e^{-0.0275}} &= 0.506875")
    w5 = _math(by_hand.chain_rule_step(bp.w5))
    assert r"\left(a_{o1} - t_{1}\right)\,a_{o1}\,\left(1 - a_{o1}\right)\,a_{h1}" in w5
    assert w5.endswith("&= 0.0128808")
    assert _math(backward["∂E/∂w5"]).endswith(r"&= 0.0254122 \times 0.506875 &= 0.0128808")
    assert r"\delta_{h1} &= \left(\delta_{o1}\,w_{5} + \delta_{o2}\,w_{7}\right)" in _math(backward["delta_h1"])
    update = by_hand.update_steps(CLASS_VALUES, 0.5)
    assert _math(update["w5"]) == (r"w_{5}^{+} &= w_{5} - \eta\,\frac{\partial E_{total}}{\partial w_{5}} "
                                   r"&= 0.4 - 0.5 \times 0.0128808 &= 0.39356")
    with_biases = _math(by_hand.forward_steps(MAZUR_VALUES)["h1"])
    assert with_biases.endswith(r"+ b_{1} &= 0.15 \times 0.05 + 0.2 \times 0.1 + 0.35 &= 0.3775")
    assert _math(by_hand.backward_steps(MAZUR_VALUES)["∂E/∂b2"]).startswith(
        r"\frac{\partial E_{total}}{\partial b_{2}} &= \delta_{o1} + \delta_{o2}")


def test_a_negative_value_is_bracketed_and_small_ones_keep_six_digits():
    backward = by_hand.backward_steps(MAZUR_VALUES)
    assert r"\left(-0.0380982\right) \times 0.59327" in _math(backward["∂E/∂w7"])
    assert by_hand.number_latex(1.23456789e-5) == r"1.23457 \times 10^{-5}"
    assert by_hand.number_latex(0.15, given=True) == "0.15"


def test_long_lines_are_broken_to_fit_a_phone():
    for steps in (by_hand.forward_steps(), by_hand.backward_steps(MAZUR_VALUES), by_hand.update_steps()):
        for step in steps.values():
            for line in step.latex_lines():
                assert by_hand._width(line.split("&", 1)[1]) <= by_hand.rhs_width([step.symbol]) + 4, line
    broken = by_hand.backward_steps()["delta_h1"].latex_lines()
    assert broken[1] == r"&= \bigl(0.0254122 \times 0.4"  # a bracketed sum too wide for a line
    assert broken[2].startswith(r"&\quad + 0.0303987 \times 0.5\bigr)")
    assert any(line.startswith(r"&\quad \times ") for line in broken[2:])  # a product continues with ×


def test_the_equations_print_in_chain_rule_order():
    assert r"h_{1} &= w_{1}\,i_{1} + w_{2}\,i_{2}" in by_hand.equations_latex(bp.FORWARD.items())
    assert "b_{1}" in by_hand.equations_latex(bp.FORWARD.items(), biases=True)
    assert "b_{1}" not in by_hand.equations_latex(bp.FORWARD.items())
    assert r"\frac{\partial E_{total}}{\partial w_{1}} &= \delta_{h1}\,i_{1}" in by_hand.gradients_latex()
    derived = by_hand.derived_latex(bp.w1)
    assert derived.count(r"&\quad + ") == 1 and r"w_{5}" in derived and r"w_{7}" in derived  # two paths
    assert r"\sigma" not in derived


def test_a_value_that_is_not_known_yet_is_refused():
    with pytest.raises(ValueError, match="no value for a_h1: compute it first"):
        by_hand.evaluate(bp.a_h1 * 2, {})
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        by_hand.update_steps(CLASS_VALUES, 0)


def test_the_numbers_on_the_lines_are_rounded_from_the_values_substituted():
    step = by_hand.backward_steps()["delta_h1"]
    shown = re.findall(r"\d+\.\d+", " ".join(step.latex_lines()[1:-1]))
    known = {f"{v:.6g}" for v in step.known.values()}
    assert shown and set(shown) <= known | {"0.4", "0.5"}
    assert np.isclose(step.value, bp.evaluate(bp.DELTAS[bp.delta_h1], CLASS_VALUES), rtol=0, atol=1e-15)
