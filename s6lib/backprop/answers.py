"""The numeric answers of Part 1's exercises, computed by the library, keyed by exercise label.

Each chapter's answer box and solution take their number from here (`answer(label)`), so the
page never shows a typed number, and `tests/part1_oracle.py` recomputes every one of them
independently (plain NumPy and torch autograd, sharing no code with SymPy).

    from s6lib.backprop.answers import answer, likely_mistake
    answer("ex-forward-pass-output")                       # E_total of the swapped pass
    likely_mistake("ex-forward-pass-output", "unswapped")  # E_total of the pass before the swap

`LIKELY_MISTAKES` holds, for an exercise's answer box, the number a likely slip gives (the page's
words name the slip), so the box can tell the reader which one it was.
"""

from __future__ import annotations

from functools import cache

from s6lib.backprop import by_hand, large_rates
from s6lib.backprop import network as bp

# A student's sheet with one mistake (the exercise "find the error"): ∂E/∂w6 copied from
# ∂E/∂w5's cell, so it multiplies δ_o1 by a_h1 where w6 is fed by a_h2.
BROKEN_SHEET_GRADIENTS = bp.CHAIN_RULE | {bp.w6: bp.delta_o1 * bp.a_h1}
MAZUR_FIRST_TARGET = {"t1": bp.MAZUR_VALUES["t1"]}  # Mazur's t1 on the class network (an exercise)
PREDICTED_RATE = 4.0  # a rate between the class's, for "predict the updates it needs"
SWAPPED_INPUTS = bp.CLASS_VALUES | {"i1": bp.CLASS_VALUES["i2"], "i2": bp.CLASS_VALUES["i1"]}


def _forward(values=bp.CLASS_VALUES):
    return bp.forward_pass(values)


def _updated(values, learning_rate):
    """The values after one update of all eight weights."""
    return dict(values) | {w: step.value for w, step in by_hand.update_steps(values, learning_rate).items()}


def _half_updates():
    curve = bp.iterate(bp.CLASS_VALUES, 0.5)["E_total"]
    return bp.updates_to_reach(curve, curve.iloc[0] / 2)


def _half_step():
    """The step (as the sheet, its figure and the workbook number them: step 1 is the start, before
    any update) at which E_total is first below half its starting value."""
    return _half_updates() + 1


def _plateau():
    saturated = dict(bp.CLASS_VALUES, w5=50.0, w6=50.0, w7=-50.0, w8=-50.0)  # a_o1 → 1, a_o2 → 0
    return bp.forward_pass(saturated)["E_total"]


def _stability_limit():
    return 2 / large_rates.sharpness(large_rates.weights_after(bp.CLASS_VALUES, 0.5, large_rates.LONG_RUN))


ANSWERS = {
    # the forward pass
    "ex-forward-pass-swapped": lambda: _forward(SWAPPED_INPUTS)["a_h1"],
    "ex-forward-pass-output": lambda: _forward(SWAPPED_INPUTS)["E_total"],
    "ex-forward-pass-sigmoid-line": lambda: _forward()["a_h1"] - (0.5 + _forward()["h1"] / 4),
    "ex-forward-pass-mazur": lambda: _forward(bp.MAZUR_VALUES)["a_o1"],
    # partial derivatives
    "ex-partial-derivatives-w6": lambda: float(bp.iterate(bp.CLASS_VALUES, 0.5, 2).loc[2, "∂E/∂w6"]),
    "ex-partial-derivatives-ratio": lambda: _forward()["∂E/∂w5"] / _forward()["∂E/∂w1"],
    "ex-partial-derivatives-sign": lambda: by_hand.backward_steps(bp.CLASS_VALUES | MAZUR_FIRST_TARGET)[
        "delta_o1"].value,
    "ex-partial-derivatives-eta1": lambda: _forward(_updated(bp.CLASS_VALUES, 1.0))["E_total"],
    "ex-partial-derivatives-bias": lambda: bp.MAZUR_VALUES["b2"] - bp.MAZUR_LEARNING_RATE * by_hand.backward_steps(
        bp.MAZUR_VALUES)["∂E/∂b2"].value,
    # the backprop table
    "ex-backprop-table-row": lambda: float(bp.iterate(bp.CLASS_VALUES, 0.5, 3).loc[3, "w5"]),
    "ex-backprop-table-broken": lambda: bp.evaluate(BROKEN_SHEET_GRADIENTS[bp.w6], bp.CLASS_VALUES),
    "ex-backprop-table-half": _half_step,
    "ex-backprop-table-eta1": lambda: float(bp.iterate(bp.CLASS_VALUES, 1.0)["E_total"].iloc[-1]),
    # learning rates
    "ex-learning-rates-predict": lambda: bp.updates_to_reach(
        bp.iterate(bp.CLASS_VALUES, PREDICTED_RATE, large_rates.LONG_RUN)["E_total"], large_rates.THRESHOLD),
    "ex-learning-rates-limit": _stability_limit,
    "ex-learning-rates-first-step": lambda: by_hand.update_steps(bp.CLASS_VALUES, 100.0)["w5"].value,
    "ex-learning-rates-plateau": _plateau,
}

# The number a likely slip gives, by exercise and slip.
LIKELY_MISTAKES = {
    "ex-forward-pass-swapped": {
        "unswapped": lambda: _forward()["a_h1"],
        "h1": lambda: _forward(SWAPPED_INPUTS)["h1"],
    },
    "ex-forward-pass-output": {
        "unswapped": lambda: _forward()["E_total"],
        "no half": lambda: 2 * _forward(SWAPPED_INPUTS)["E_total"],
    },
    "ex-forward-pass-sigmoid-line": {
        "rounded": lambda: 0.0,  # a_h1 as printed, to 6 digits, equals the line's estimate
        "sign": lambda: -answer("ex-forward-pass-sigmoid-line"),
    },
    "ex-forward-pass-mazur": {
        "no biases": lambda: _forward(bp.MAZUR_VALUES | {"b1": 0.0, "b2": 0.0})["a_o1"],
        "no b1": lambda: _forward(bp.MAZUR_VALUES | {"b1": 0.0})["a_o1"],
        "no b2": lambda: _forward(bp.MAZUR_VALUES | {"b2": 0.0})["a_o1"],
    },
    "ex-partial-derivatives-w6": {
        "before the update": lambda: _forward()["∂E/∂w6"],
        "a_h1": lambda: bp.evaluate(BROKEN_SHEET_GRADIENTS[bp.w6], _updated(bp.CLASS_VALUES, 0.5)),
    },
    "ex-partial-derivatives-ratio": {
        "inverted": lambda: 1 / answer("ex-partial-derivatives-ratio"),
    },
    "ex-partial-derivatives-sign": {
        "sign": lambda: -answer("ex-partial-derivatives-sign"),
        "class target": lambda: by_hand.backward_steps(bp.CLASS_VALUES)["delta_o1"].value,
        "no slope": lambda: _forward()["a_o1"] - MAZUR_FIRST_TARGET["t1"],
    },
    "ex-partial-derivatives-eta1": {
        "half rate": lambda: _forward(_updated(bp.CLASS_VALUES, 0.5))["E_total"],
        "before": lambda: _forward()["E_total"],
    },
    "ex-partial-derivatives-bias": {
        "sign": lambda: 2 * bp.MAZUR_VALUES["b2"] - answer("ex-partial-derivatives-bias"),
        "one term": lambda: bp.MAZUR_VALUES["b2"] - bp.MAZUR_LEARNING_RATE * by_hand.backward_steps(
            bp.MAZUR_VALUES)["delta_o1"].value,
    },
    "ex-backprop-table-row": {
        "step 2": lambda: float(bp.iterate(bp.CLASS_VALUES, 0.5, 2).loc[2, "w5"]),
        "sign": lambda: 2 * float(bp.iterate(bp.CLASS_VALUES, 0.5, 2).loc[2, "w5"]) - answer("ex-backprop-table-row"),
        "no rate": lambda: (2 * answer("ex-backprop-table-row")
                            - float(bp.iterate(bp.CLASS_VALUES, 0.5, 2).loc[2, "w5"])),
    },
    "ex-backprop-table-half": {
        "updates": _half_updates,
    },
    "ex-backprop-table-eta1": {
        "page rate": lambda: float(bp.iterate(bp.CLASS_VALUES, 0.5)["E_total"].iloc[-1]),
    },
    "ex-learning-rates-limit": {
        "one over": lambda: answer("ex-learning-rates-limit") / 2,
        "sharpness": lambda: 2 / answer("ex-learning-rates-limit"),
        # λ as the sharpness table prints it (3 digits) in its η = 0.5 row: after SHEET_STEPS - 1
        # updates, short of the minimum
        "table row": lambda: 2 / float(f"{_table_sharpness():.3g}"),
    },
    "ex-learning-rates-first-step": {
        "sign": lambda: 2 * bp.CLASS_VALUES["w5"] - answer("ex-learning-rates-first-step"),
        "no rate": lambda: bp.CLASS_VALUES["w5"] - _forward()["∂E/∂w5"],
    },
    "ex-learning-rates-plateau": {
        "no half": lambda: 2 * answer("ex-learning-rates-plateau"),
        "one output": lambda: answer("ex-learning-rates-plateau") / 2,
    },
}


@cache
def _table_sharpness() -> float:
    return large_rates.sharpness(large_rates.weights_after(bp.CLASS_VALUES, 0.5, bp.SHEET_STEPS - 1))


def answer(label):
    """The number exercise `label` asks for; KeyError names the labels there are."""
    if label not in ANSWERS:
        raise KeyError(f"no exercise {label!r}: the labels are {', '.join(ANSWERS)}")
    return float(ANSWERS[label]())


@cache
def likely_mistake(label, slip):
    """The number exercise `label`'s likely `slip` gives; KeyError names the slips there are."""
    slips = LIKELY_MISTAKES.get(label, {})
    if slip not in slips:
        raise KeyError(f"no slip {slip!r} for {label!r}: there are {', '.join(slips) or 'none'}")
    return float(slips[slip]())
