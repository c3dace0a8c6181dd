"""Backpropagation by hand for a 2-2-2 sigmoid network, derived with SymPy.

The network is written once as SymPy equations (`FORWARD`). Every gradient
comes from `sympy.diff`; the chain-rule forms a student types into a sheet
(`CHAIN_RULE`: each gradient a delta times an input, the deltas in `DELTAS`)
are checked against those derivations by `matches_derivation`. The numbers
(`forward_pass`, `iterate`, `descend`) come from the same derived expressions,
compiled once to float64 NumPy code. `s6lib.backprop.by_hand` prints the same
equations with their numbers substituted, for the pages.

    from s6lib.backprop.network import CLASS_VALUES, iterate
    sheet = iterate(CLASS_VALUES, learning_rate=0.5, steps=80)
"""

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import sympy as sp

# ---------------------------------------------------------------------------
# The values used in the class (the original sheet) and in Matt Mazur's
# step-by-step example. Inputs i, targets t, weights w, biases b.

CLASS_VALUES = {
    "i1": 0.05, "i2": 0.1, "t1": 0.5, "t2": 0.5,
    "w1": 0.15, "w2": 0.2, "w3": 0.25, "w4": 0.3,
    "w5": 0.4, "w6": 0.45, "w7": 0.5, "w8": 0.55,
}
CLASS_LEARNING_RATES = (0.1, 0.2, 0.5, 0.8, 1.0, 2.0)
SHEET_STEPS = 80  # rows in the original sheet

# Mazur shares one bias per layer (b1 hidden, b2 output) and keeps it fixed.
MAZUR_VALUES = {
    "i1": 0.05, "i2": 0.10, "t1": 0.01, "t2": 0.99,
    "w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30,
    "w5": 0.40, "w6": 0.45, "w7": 0.50, "w8": 0.55,
    "b1": 0.35, "b2": 0.60,
}
MAZUR_LEARNING_RATE = 0.5

# ---------------------------------------------------------------------------
# Symbols and the forward pass.


class sigmoid(sp.Function):
    """σ(x) = 1 / (1 + e^(−x)), with σ' = σ(1 − σ) (proven by `sigmoid_derivative_holds`).

    A named function rather than the bare exp expression keeps the derived
    gradients readable and lets the numbers use an overflow-free sigmoid.
    """

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0]) * (1 - sigmoid(self.args[0]))

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _latex(self, printer):
        return rf"\sigma\left({printer.doprint(self.args[0])}\right)"


i1, i2, t1, t2, b1, b2 = sp.symbols("i1 i2 t1 t2 b1 b2")
w1, w2, w3, w4, w5, w6, w7, w8 = WEIGHTS = sp.symbols("w1:9")
h1, a_h1, h2, a_h2 = sp.symbols("h1 a_h1 h2 a_h2")
o1, a_o1, o2, a_o2 = sp.symbols("o1 a_o1 o2 a_o2")
E1, E2, E_total = sp.symbols("E1 E2 E_total")

INPUT_NAMES = ("i1", "i2", "t1", "t2", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8")
BIAS_NAMES = ("b1", "b2")  # optional: they default to 0 (the class network has none)
WEIGHT_NAMES = tuple(str(w) for w in WEIGHTS)
_PARAMETERS = sp.symbols(INPUT_NAMES + BIAS_NAMES)

# Each right-hand side uses only symbols defined on earlier lines.
FORWARD = {
    h1: w1 * i1 + w2 * i2 + b1,
    a_h1: sigmoid(h1),
    h2: w3 * i1 + w4 * i2 + b1,
    a_h2: sigmoid(h2),
    o1: w5 * a_h1 + w6 * a_h2 + b2,
    a_o1: sigmoid(o1),
    o2: w7 * a_h1 + w8 * a_h2 + b2,
    a_o2: sigmoid(o2),
    E1: sp.Rational(1, 2) * (a_o1 - t1) ** 2,
    E2: sp.Rational(1, 2) * (a_o2 - t2) ** 2,
    E_total: E1 + E2,
}

# The columns of the sheet, in its order.
GRADIENT_COLUMNS = tuple(f"∂E/∂{w}" for w in WEIGHT_NAMES)
COLUMNS = (
    "t1", "t2", "i1", "i2", "w1", "w2", "w3", "w4", "h1", "a_h1", "h2", "a_h2",
    "w5", "w6", "w7", "w8", "o1", "a_o1", "o2", "a_o2", "E1", "E2", "E_total",
) + GRADIENT_COLUMNS
FORWARD_COLUMNS = tuple(str(s) for s in FORWARD)


# ---------------------------------------------------------------------------
# The chain rule as a student writes it, and SymPy's derivation to check it against.

# The deltas: δ of a unit is ∂E_total/∂(its sum), the factor shared by every weight into it.
# An output unit's comes from its error; a hidden unit's from the output deltas it feeds,
# each weighted by the connection (the recursion that gives backpropagation its name).
delta_o1, delta_o2, delta_h1, delta_h2 = sp.symbols("delta_o1 delta_o2 delta_h1 delta_h2")
DELTAS = {
    delta_o1: (a_o1 - t1) * a_o1 * (1 - a_o1),  # ∂E/∂a_o1 · ∂a_o1/∂o1
    delta_o2: (a_o2 - t2) * a_o2 * (1 - a_o2),
    delta_h1: (delta_o1 * w5 + delta_o2 * w7) * a_h1 * (1 - a_h1),  # (Σ δ_o · w) · σ'(h1)
    delta_h2: (delta_o1 * w6 + delta_o2 * w8) * a_h2 * (1 - a_h2),
}
OUTPUT_DELTAS, HIDDEN_DELTAS = (delta_o1, delta_o2), (delta_h1, delta_h2)
# ∂E/∂w = δ of the unit the weight feeds × the input that feeds the weight.
CHAIN_RULE = {
    w1: delta_h1 * i1, w2: delta_h1 * i2, w3: delta_h2 * i1, w4: delta_h2 * i2,
    w5: delta_o1 * a_h1, w6: delta_o1 * a_h2, w7: delta_o2 * a_h1, w8: delta_o2 * a_h2,
}
# A bias is a weight whose input is always 1. Mazur's b1 feeds both hidden units and b2 both
# output units, so each gradient is the sum of the deltas of the units it feeds.
BIAS_GRADIENTS = {b1: delta_h1 + delta_h2, b2: delta_o1 + delta_o2}

# The original sheet's formulas: right for w1, w2, w5..w8; for w3 and w4 it
# multiplies by h1's sigmoid slope a_h1·(1 − a_h1) instead of h2's.
ORIGINAL_SHEET_GRADIENTS = CHAIN_RULE | {
    w3: (delta_o1 * w6 + delta_o2 * w8) * a_h1 * (1 - a_h1) * i1,
    w4: (delta_o1 * w6 + delta_o2 * w8) * a_h1 * (1 - a_h1) * i2,
}


def in_inputs(expr):
    """Rewrite `expr` in inputs, targets, weights and biases only (no δ, h, a, o, E)."""
    for symbol, rhs in reversed((FORWARD | DELTAS).items()):  # later definitions use earlier ones
        expr = expr.subs(symbol, rhs)
    return expr


def in_forward_names(expr):
    """Undo `in_inputs` for display: name each sigmoid by its forward symbol again."""
    for activation in (a_o1, a_o2, a_h1, a_h2):  # outer sigmoids contain the inner ones
        expr = expr.subs(in_inputs(activation), activation)
    return expr


@cache
def derived_gradient(weight):
    """∂E_total/∂weight, by `sympy.diff` of E_total written in the inputs."""
    return sp.diff(in_inputs(E_total), weight)


def matches_derivation(form, weight):
    """True when `form` is identically ∂E_total/∂weight (a symbolic proof, not a numeric test).

    Both sides, written in the inputs, are polynomials in the weights, inputs
    and sigmoid terms; expanding their difference to 0 proves them equal.
    """
    return sp.expand(in_inputs(form) - derived_gradient(weight)) == 0


def sigmoid_derivative_holds():
    """Prove σ'(x) = σ(x)(1 − σ(x)) from σ(x) = 1 / (1 + e^(−x))."""
    x = sp.Symbol("x")
    s = sigmoid(x).rewrite(sp.exp)
    return sp.simplify(sp.diff(s, x) - s * (1 - s)) == 0


def gradient_symbol(parameter):
    """∂E_total/∂parameter as one symbol (printed as the fraction), for equations and updates."""
    return sp.Symbol(rf"\frac{{\partial E_{{total}}}}{{\partial {sp.latex(parameter)}}}")


# ---------------------------------------------------------------------------
# Numbers: float64, from the derived expressions.


def stable_sigmoid(x):
    """1 / (1 + e^−x) of each entry of `x`, in float64, without overflow: the sigmoid every compiled
    expression of the network (and of s6lib.backprop.large_rates) evaluates."""
    z = np.exp(-np.abs(x))  # ≤ 1, so it never overflows, whatever the learning rate
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


@cache
def _compiled(forms=None):
    """One float64 function: parameters → forward columns then the eight gradients.

    `forms`, a tuple of (weight, form) pairs, replaces SymPy's derivatives by other formulas
    (the original sheet's); by default the gradients are `derived_gradient`'s.
    """
    gradients = ([derived_gradient(w) for w in WEIGHTS] if forms is None
                 else [in_inputs(dict(forms)[w]) for w in WEIGHTS])
    outputs = [in_inputs(s) for s in FORWARD] + gradients
    return sp.lambdify(_PARAMETERS, outputs, modules=[{"sigmoid": stable_sigmoid}, "numpy"], cse=True)


def _forms_key(gradients):
    """`gradients` ({weight: form} or None) as the hashable key `_compiled` caches on."""
    if gradients is None:
        return None
    if set(gradients) != set(WEIGHTS):
        raise ValueError("gradients must give a formula for each of w1..w8, e.g. bp.ORIGINAL_SHEET_GRADIENTS")
    return tuple((w, gradients[w]) for w in WEIGHTS)


@cache
def _compiled_expression(expr):
    return sp.lambdify(_PARAMETERS, in_inputs(expr), modules=[{"sigmoid": stable_sigmoid}, "numpy"])


def check_values(values):
    """Return the values as float64, biases defaulting to 0; ValueError says what to fix."""
    missing = [name for name in INPUT_NAMES if name not in values]
    if missing:
        raise ValueError(
            f"missing initial value(s) {', '.join(missing)}: give all of "
            f"{', '.join(INPUT_NAMES)} (b1, b2 are optional), e.g. dict(CLASS_VALUES, w1=0.3)"
        )
    unknown = sorted(set(values) - set(INPUT_NAMES + BIAS_NAMES))
    if unknown:
        raise ValueError(
            f"unknown initial value(s) {', '.join(unknown)}: the names are "
            f"{', '.join(INPUT_NAMES + BIAS_NAMES)}"
        )
    bad = [name for name, v in values.items() if not _is_finite_number(v)]
    if bad:
        raise ValueError(f"initial value(s) {', '.join(bad)} must be finite numbers (not NaN, infinity or text)")
    return {name: 0.0 for name in BIAS_NAMES} | {name: float(v) for name, v in values.items()}


def _is_finite_number(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)


def check_learning_rate(learning_rate):
    if not (_is_finite_number(learning_rate) and learning_rate > 0):
        raise ValueError(
            f"learning_rate must be a finite number > 0, got {learning_rate!r}: "
            f"try one of the class values {', '.join(map(str, CLASS_LEARNING_RATES))}"
        )
    return float(learning_rate)


def check_steps(steps):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a whole number ≥ 1 (one row per forward pass), got {steps!r}")
    return int(steps)


def _row(v, forms=None):
    """The sheet row for checked values `v`, as a dict keyed by column."""
    results = _compiled(forms)(*(v[str(p)] for p in _PARAMETERS))
    return v | dict(zip(FORWARD_COLUMNS + GRADIENT_COLUMNS, map(float, results)))


def forward_pass(values):
    """One row of the sheet: the forward pass at `values` and the eight gradients."""
    row = _row(check_values(values))
    return pd.Series([row[c] for c in COLUMNS], index=COLUMNS, name="value")


def evaluate(expr, values):
    """The value of any expression in the forward-pass names, e.g. a chain-rule form."""
    v = check_values(values)
    return float(_compiled_expression(expr)(*(v[str(p)] for p in _PARAMETERS)))


def iterate(values, learning_rate, steps=SHEET_STEPS, gradients=None):
    """The sheet: `steps` rows, each a forward pass, then w ← w − η·∂E/∂w for the next row.

    Biases (if given) stay fixed, as in Mazur's example. Index: step 1, 2, …
    `gradients` ({weight: formula}, e.g. `ORIGINAL_SHEET_GRADIENTS`) makes the sheet use other
    gradient formulas than SymPy's derivatives: what a sheet with those formulas would compute.
    """
    learning_rate = check_learning_rate(learning_rate)
    steps = check_steps(steps)
    current = check_values(values)
    forms = _forms_key(gradients)
    rows = []
    for _ in range(steps):
        row = _row(current, forms)
        rows.append(row)
        current = current | {w: row[w] - learning_rate * row[g] for w, g in zip(WEIGHT_NAMES, GRADIENT_COLUMNS)}
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.index = pd.RangeIndex(1, steps + 1, name="step")
    return frame


def descend(values, learning_rates, steps=SHEET_STEPS):
    """E_total at each step (rows, step 1 = before any update) for many learning rates at once
    (columns): `iterate`'s loss curves, computed side by side as NumPy arrays (fast enough to
    search thousands of rates)."""
    rates = np.asarray([check_learning_rate(lr) for lr in learning_rates], dtype=np.float64)
    steps = check_steps(steps)
    current = {name: np.full(rates.shape, value) for name, value in check_values(values).items()}
    loss = np.empty((steps, rates.size))
    position = len(FORWARD_COLUMNS) - 1  # E_total, the last forward column
    for step in range(steps):
        results = _compiled()(*(current[str(p)] for p in _PARAMETERS))
        loss[step] = results[position]
        for w, g in zip(WEIGHT_NAMES, results[len(FORWARD_COLUMNS):]):
            current[w] = current[w] - rates * g
    return pd.DataFrame(loss, index=pd.RangeIndex(1, steps + 1, name="step"),
                        columns=pd.Index(rates, name="learning rate"))


def step_by_hand(v, eta):
    """One step of gradient descent: (new values, E_total before it)."""
    def sig(x):
        return 1 / (1 + math.exp(-x))
    # forward pass
    a_h1 = sig(v["w1"] * v["i1"] + v["w2"] * v["i2"])
    a_h2 = sig(v["w3"] * v["i1"] + v["w4"] * v["i2"])
    a_o1 = sig(v["w5"] * a_h1 + v["w6"] * a_h2)
    a_o2 = sig(v["w7"] * a_h1 + v["w8"] * a_h2)
    e_total = ((a_o1 - v["t1"]) ** 2 + (a_o2 - v["t2"]) ** 2) / 2
    # backward pass: the delta of each output unit, then of each hidden unit
    d_o1 = (a_o1 - v["t1"]) * a_o1 * (1 - a_o1)
    d_o2 = (a_o2 - v["t2"]) * a_o2 * (1 - a_o2)
    d_h1 = (d_o1 * v["w5"] + d_o2 * v["w7"]) * a_h1 * (1 - a_h1)
    d_h2 = (d_o1 * v["w6"] + d_o2 * v["w8"]) * a_h2 * (1 - a_h2)
    grad = {"w1": d_h1 * v["i1"], "w2": d_h1 * v["i2"],
            "w3": d_h2 * v["i1"], "w4": d_h2 * v["i2"],
            "w5": d_o1 * a_h1, "w6": d_o1 * a_h2,
            "w7": d_o2 * a_h1, "w8": d_o2 * a_h2}
    # the update
    return v | {w: v[w] - eta * g for w, g in grad.items()}, e_total


@dataclass(frozen=True)
class Nudge:
    """E_total before and after one weight alone moves by `step` (and by −`step`): a partial
    derivative as a student can check it, with a calculator and two forward passes."""

    weight: str
    step: float
    error: float  # E_total at the values
    error_up: float  # with the weight + step
    error_down: float  # with the weight − step
    gradient: float  # ∂E_total/∂weight, as backpropagation gives it

    @property
    def change(self) -> float:
        """How much E_total changes when the weight moves up by `step`."""
        return self.error_up - self.error

    @property
    def slope(self) -> float:
        """The one-sided estimate of the derivative: change / step."""
        return self.change / self.step

    @property
    def central_slope(self) -> float:
        """The central estimate, (E(w + step) − E(w − step)) / 2·step: its error shrinks with step²."""
        return (self.error_up - self.error_down) / (2 * self.step)


def nudge(values, weight, step=1e-3):
    """Move `weight` alone by ±`step`, redo the forward pass, and compare with the gradient."""
    v = check_values(values)
    if weight not in WEIGHT_NAMES + BIAS_NAMES:
        raise ValueError(f"no parameter named {weight!r}: one of {', '.join(WEIGHT_NAMES + BIAS_NAMES)}")
    if not (_is_finite_number(step) and step != 0):
        raise ValueError(f"the step must be a finite non-zero number, not {step!r}")
    row = forward_pass(v)
    gradient = row[f"∂E/∂{weight}"] if weight in WEIGHT_NAMES else evaluate(BIAS_GRADIENTS[sp.Symbol(weight)], v)
    return Nudge(weight, float(step), float(row["E_total"]),
                 float(forward_pass(v | {weight: v[weight] + step})["E_total"]),
                 float(forward_pass(v | {weight: v[weight] - step})["E_total"]), float(gradient))


@dataclass(frozen=True)
class MatrixPass:
    """The forward and backward pass of `matrix_pass`, as vectors and matrices (NumPy, float64)."""

    W1: np.ndarray  # 2 × 2, the weights into the hidden layer
    W2: np.ndarray  # 2 × 2, the weights into the output layer
    a_h: np.ndarray
    a_o: np.ndarray
    delta_o: np.ndarray
    delta_h: np.ndarray
    dE_dW2: np.ndarray  # the eight gradients, in the shapes of the weights
    dE_dW1: np.ndarray


def matrix_pass(values):
    """One forward and one backward pass with one matrix per layer: the same arithmetic as the
    scalar equations, written so that it holds for layers of any width."""
    v = check_values(values)
    x, t = np.array([v["i1"], v["i2"]]), np.array([v["t1"], v["t2"]])
    W1 = np.array([[v["w1"], v["w2"]], [v["w3"], v["w4"]]])  # row k: the weights into hidden unit k
    W2 = np.array([[v["w5"], v["w6"]], [v["w7"], v["w8"]]])  # row k: the weights into output unit k
    sigma = stable_sigmoid  # 1 / (1 + e^−x) for each entry, computed so that it never overflows
    a_h = sigma(W1 @ x + v["b1"])  # forward: a = σ(W a_prev + b)
    a_o = sigma(W2 @ a_h + v["b2"])
    delta_o = (a_o - t) * a_o * (1 - a_o)  # backward: δ_out = (a − t) ⊙ σ′
    delta_h = (W2.T @ delta_o) * a_h * (1 - a_h)  # δ_hidden = (Wᵀ δ) ⊙ σ′
    return MatrixPass(W1, W2, a_h, a_o, delta_o, delta_h,
                      np.outer(delta_o, a_h), np.outer(delta_h, x))  # ∂E/∂W = δ a_prevᵀ


def matrix_gradients(result: MatrixPass) -> dict:
    """The gradients of a `MatrixPass` under the scalar names (∂E/∂w1 … ∂E/∂w8)."""
    return dict(zip(GRADIENT_COLUMNS, map(float, [*result.dE_dW1.flatten(), *result.dE_dW2.flatten()])))


@dataclass(frozen=True)
class Costs:
    """Multiplications for one gradient of a fully connected sigmoid network (see `costs`)."""

    layers: tuple
    weights: int
    parameters: int  # weights and, with biases, one bias per unit
    forward: int  # one forward pass
    backward: int  # the backward pass that backpropagation adds
    finite_differences: int  # one extra forward pass per parameter

    @property
    def backpropagation(self) -> int:
        return self.forward + self.backward

    @property
    def ratio(self) -> float:
        """How many times the multiplications of backpropagation finite differences need."""
        return (self.forward + self.finite_differences) / self.backpropagation


def costs(layers, biases=True):
    """Count the multiplications of one gradient by backpropagation and by finite differences, for
    a network with `layers` units per layer (e.g. (784, 30, 10)) and squared error. Counted: each
    weight × input of the forward pass; (a − t)·a·(1 − a) for each output (2 per unit); Wᵀδ and the
    ·a·(1 − a) of each hidden unit (2 per unit); δ × input for each weight's gradient. Not counted:
    additions, the sigmoid itself, the error. Finite differences: one more forward pass for each
    parameter (E(w + ε) − E(w)) / ε."""
    layers = tuple(int(n) for n in layers)
    if len(layers) < 2 or min(layers) < 1:
        raise ValueError(f"need at least two layers of at least one unit, got {layers!r}")
    pairs = list(zip(layers[:-1], layers[1:]))
    weights = sum(n_in * n_out for n_in, n_out in pairs)
    parameters = weights + (sum(layers[1:]) if biases else 0)
    hidden = sum(n_in * n_out + 2 * n_in for n_in, n_out in pairs[1:])  # Wᵀδ, then ⊙ a(1 − a)
    backward = 2 * layers[-1] + hidden + weights
    return Costs(layers, weights, parameters, weights, backward, parameters * weights)


# The same network on several examples: the class's, the class's with its inputs swapped, and
# the class's inputs with Mazur's targets.
EXAMPLES = (
    {"i1": 0.05, "i2": 0.1, "t1": 0.5, "t2": 0.5},
    {"i1": 0.1, "i2": 0.05, "t1": 0.5, "t2": 0.5},
    {"i1": 0.05, "i2": 0.1, "t1": 0.01, "t2": 0.99},
)


def per_example(values=CLASS_VALUES, examples=EXAMPLES):
    """E_total and the eight gradients for each example, with the weights of `values` (one row each)."""
    if not examples:
        raise ValueError("need at least one example")
    rows = [forward_pass(check_values(values) | dict(example)) for example in examples]
    return pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1, name="example"))[
        ["E_total", *GRADIENT_COLUMNS]]


def graph_values(values=CLASS_VALUES):
    """The computational graph of E_total along the paths from w1 and w5: for each node its value
    and its gradient ∂E_total/∂node, and for each edge (from, to) its local derivative
    ∂to/∂from. A node's gradient is the sum, over its outgoing edges, of local derivative ×
    the gradient of the node the edge leads to."""
    v = check_values(values)
    r = forward_pass(v)
    local = {
        ("E1", "E_total"): 1.0, ("E2", "E_total"): 1.0,
        ("a_o1", "E1"): r["a_o1"] - v["t1"], ("a_o2", "E2"): r["a_o2"] - v["t2"],
        ("o1", "a_o1"): r["a_o1"] * (1 - r["a_o1"]), ("o2", "a_o2"): r["a_o2"] * (1 - r["a_o2"]),
        ("a_h1", "o1"): v["w5"], ("a_h1", "o2"): v["w7"], ("w5", "o1"): r["a_h1"],
        ("h1", "a_h1"): r["a_h1"] * (1 - r["a_h1"]), ("w1", "h1"): v["i1"],
    }
    value = {"E_total": r["E_total"], "E1": r["E1"], "E2": r["E2"], "a_o1": r["a_o1"], "a_o2": r["a_o2"],
             "o1": r["o1"], "o2": r["o2"], "a_h1": r["a_h1"], "h1": r["h1"], "w5": v["w5"], "w1": v["w1"]}
    gradient = {"E_total": 1.0}
    for node in ("E1", "E2", "a_o1", "a_o2", "o1", "o2", "a_h1", "w5", "h1", "w1"):  # outputs first
        gradient[node] = sum(d * gradient[to] for (start, to), d in local.items() if start == node)
    return ({n: (float(value[n]), float(gradient[n])) for n in value},
            {edge: float(d) for edge, d in local.items()})


def rising_updates(curve):
    """The updates after which E_total was higher than before them (1-based: 1 is the first update).
    `curve` is E_total by step, as `iterate` gives it: step 1 is before any update."""
    values = list(curve)
    return [k for k in range(1, len(values)) if values[k] > values[k - 1]]


def error_resolution(values=CLASS_VALUES, relative=0.01):
    """The E_total below which float64 no longer resolves it to `relative` (1 %): round-off, not a result.

    An output a_o near its target t is a float64 number, so a_o − t is known only to about the
    spacing of float64 numbers at t (np.spacing(0.5) ≈ 1.1e-16). E = ½ (a_o − t)² then carries a
    relative rounding error of about 2 × spacing / |a_o − t|, more than `relative` once
    |a_o − t| < 2 × spacing / `relative`; this returns E_total with both outputs at that distance."""
    v = check_values(values)
    return sum(0.5 * (2 * float(np.spacing(v[t])) / relative) ** 2 for t in ("t1", "t2"))


def loss_curves(learning_rates=CLASS_LEARNING_RATES, values=CLASS_VALUES, steps=SHEET_STEPS):
    """E_total per step (rows) for each learning rate (columns)."""
    return pd.DataFrame({lr: iterate(values, lr, steps)["E_total"] for lr in learning_rates}).rename_axis(
        columns="learning rate"
    )


def updates_to_reach(curve, threshold):
    """How many weight updates it takes for a loss curve to go below `threshold` (None: never)."""
    below = curve.index[curve < threshold]
    return int(below[0] - curve.index[0]) if len(below) else None


# ---------------------------------------------------------------------------
# An independent check: the same network written directly in PyTorch.


def autograd_gradients(values, biases=False):
    """∂E_total/∂w1..w8 (and ∂E/∂b1, ∂E/∂b2 with `biases`) by torch autograd in float64: a check
    that shares no code with SymPy."""
    import torch  # only here: importing s6lib.backprop.network should not need torch

    v = check_values(values)

    def tensor(*names):
        return torch.tensor([v[n] for n in names], dtype=torch.float64)

    x, target = tensor("i1", "i2"), tensor("t1", "t2")
    hidden_w = tensor("w1", "w2", "w3", "w4").reshape(2, 2).requires_grad_()
    output_w = tensor("w5", "w6", "w7", "w8").reshape(2, 2).requires_grad_()
    hidden_b, output_b = tensor("b1").requires_grad_(), tensor("b2").requires_grad_()
    hidden = torch.sigmoid(hidden_w @ x + hidden_b)  # one bias shared by the layer, as Mazur's
    output = torch.sigmoid(output_w @ hidden + output_b)
    (0.5 * ((target - output) ** 2).sum()).backward()
    grads = dict(zip(GRADIENT_COLUMNS, torch.cat([hidden_w.grad.flatten(), output_w.grad.flatten()]).tolist()))
    if biases:
        grads |= {"∂E/∂b1": hidden_b.grad.item(), "∂E/∂b2": output_b.grad.item()}
    return grads
