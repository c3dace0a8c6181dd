"""The worked example in numbers: every quantity of the forward and the backward pass with its
values substituted, one step after another, so that a student can redo it with a pencil (as in
Mazur's step-by-step example).

Each step is one of the library's own SymPy equations (`FORWARD`, `DELTAS`, `CHAIN_RULE`,
`BIAS_GRADIENTS`, and the update w ← w − η·∂E/∂w): it is printed with its symbols, printed
again with the values of those symbols substituted, and its value is what SymPy gives when the
values are substituted into the expression. No number is typed; the tests check that the
values equal `backprop.forward_pass` and that every form shown is the library's expression.

    from s6lib.backprop import by_hand
    forward = by_hand.forward_steps(CLASS_VALUES)
    Math(by_hand.steps_latex(forward, ["h1", "a_h1"]))

Numbers are shown with 6 significant digits (the values given, such as 0.15, as given); each
result is computed from the unrounded values, so a last digit redone from the rounded ones
may differ by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp
from sympy.printing.latex import LatexPrinter

from s6lib.backprop import network as bp

DIGITS = 6  # significant digits of a computed number on the page
# What fits on one line of a 390 px phone: about 336 px of display math (inside a solution), at
# up to 10.5 px per unit of `_width` (measured in Chromium with the site's MathJax). A block's left-hand side takes its
# share; the right-hand sides break over as many lines as they need in the rest.
LINE_WIDTH = 32
eta = sp.Symbol("eta")  # the learning rate, η


# ---------------------------------------------------------------------------
# Printing: the factors of a product in the order the chain rule reads them.


def _factor_rank(factor):
    """Where a factor goes in a product: a sum or a delta first, then a weight (or η), then an
    activation, then 1 − a, then an input: (a_o1 − t1)·a_o1·(1 − a_o1), δ_o1·w5, w1·i1."""
    if factor.is_Pow:
        return _factor_rank(factor.base)
    if factor.is_Add:
        return 3 if any(term.is_Number for term in factor.args) else 0
    name = factor.name if factor.is_Symbol else ""
    if name.startswith("delta"):
        return 0
    if re.fullmatch(r"w\d|eta", name):
        return 1
    if name.startswith("i") and name[1:].isdigit():
        return 4
    return 2


def _term_rank(term):
    """Where a term goes in a sum: a number first (1 − a), then positive terms, negative ones,
    and a bias last (w1·i1 + w2·i2 + b1)."""
    return (not term.is_Number, term.could_extract_minus_sign(), term in (bp.b1, bp.b2))


def number_latex(value, given=False, digits=DIGITS):
    """A number as the page shows it, in LaTeX: a given value as given, a computed one to
    `digits` significant digits; 1.2 \\times 10^{-5} rather than 1.2e-05."""
    text = f"{value:g}" if given else f"{value:.{digits}g}"
    if "e" in text:  # 1.2e-05 → 1.2 × 10^{-5}
        mantissa, exponent = text.split("e")
        text = rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


class _Printer(LatexPrinter):
    """LaTeX with the factors in chain-rule order; with `numbers`, each symbol prints as its value."""

    def __init__(self, numbers=None, given=()):
        super().__init__({"order": "none"})
        self.numbers, self.given = numbers, set(given)

    def _print_Symbol(self, expr, style="plain"):
        if self.numbers is None:
            return super()._print_Symbol(expr)
        value = self.numbers[expr]
        text = number_latex(value, expr in self.given)
        return rf"\left({text}\right)" if value < 0 else text

    def _print_sigmoid(self, expr):
        return rf"\sigma\left({self._print(expr.args[0])}\right)"

    def _print_exp(self, expr, exp=None):
        return f"e^{{{self._print(expr.args[0])}}}"

    def _separator(self):
        return r" \times " if self.numbers is not None else r"\,"

    def factor_items(self, expr):
        """(factor, its print) for each factor of a product, in chain-rule order (a coefficient
        such as ½ first, with no factor); an unevaluated product inside (a delta written out)
        keeps its own order."""
        coefficient, rest = expr.as_coeff_Mul()
        items = []
        for factor in sorted(sp.Mul.make_args(rest), key=_factor_rank):
            items += self.factor_items(factor) if factor.is_Mul else [(factor, self._factor(factor))]
        if coefficient != 1:
            items.insert(0, (None, rf"\tfrac{{{coefficient.p}}}{{{coefficient.q}}}" if coefficient.is_Rational
                             else self._print(coefficient)))
        return items

    def factors(self, expr):
        """The printed factors of a product, in chain-rule order."""
        return [text for _, text in self.factor_items(expr)]

    def _factor(self, factor):
        if factor.is_Pow and factor.exp == -1:
            return rf"\frac{{1}}{{{self._print(factor.base)}}}"
        text = self._print(factor)
        return rf"\left({text}\right)" if factor.is_Add else text

    def _print_Mul(self, expr):
        if expr.could_extract_minus_sign():
            return "-" + self._print(-expr)
        return self._separator().join(self.factors(expr))

    def _print_Pow(self, expr, *args):
        if expr.exp == -1:
            return rf"\frac{{1}}{{{self._print(expr.base)}}}"
        base = self._print(expr.base)
        base = rf"\left({base}\right)" if expr.base.is_Add else base
        return f"{base}^{{{self._print(expr.exp)}}}"

    def _print_Add(self, expr, order=None):
        terms = sorted(sp.Add.make_args(expr), key=_term_rank)
        text = self._print(terms[0])
        for term in terms[1:]:
            text += f" - {self._print(-term)}" if term.could_extract_minus_sign() else f" + {self._print(term)}"
        return text

    def terms(self, expr):
        """The printed terms of a sum, each with its sign: ["a", "- b", "+ c"]."""
        terms = sorted(sp.Add.make_args(expr), key=_term_rank)
        out = [self._print(terms[0])]
        out += [f"- {self._print(-t)}" if t.could_extract_minus_sign() else f"+ {self._print(t)}" for t in terms[1:]]
        return out


def _group(text, start):
    """The braced group that opens at `start`: (its content, the index after it)."""
    depth = 0
    for k in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[k], 0)
        if depth == 0:
            return text[start + 1:k], k + 1
    raise ValueError(f"unbalanced braces in {text!r}")


def _width(latex):
    """About how wide `latex` renders, in digit widths (enough to decide where to break a line):
    a fraction is as wide as the wider of its two parts, an operator with its spaces counts 3."""
    match = re.search(r"\\t?frac\{", latex)
    if match:
        top, after = _group(latex, match.end() - 1)
        bottom, after = _group(latex, after)
        inner = max(_width(top), _width(bottom))
        return _width(latex[:match.start()]) + inner + _width(latex[after:])
    text = re.sub(r"\\(left|right|quad|,)", "", latex)
    text = re.sub(r"\\times|\\cdot|[-+=]", "   ", text)  # an operator with its spaces
    text = re.sub(r"\\[a-zA-Z]+", "x", text)  # \sigma, \delta, \partial …: one letter each
    return len(re.sub(r"[{}^_\s]", "", text)) + text.count(" ") / 3


def rhs_width(lhs, width=LINE_WIDTH):
    """The width left for right-hand sides beside the widest of the `lhs` symbols and the "="."""
    return width - max(_width(sp.latex(symbol)) for symbol in lhs) - 2


def _broken(pieces, width):
    """Pieces (text, separator before it on the same line, mark that starts it on a new line),
    packed into as few lines as keep each within `width`: [first line, continuation, …]."""
    lines, current = [], pieces[0][0]
    for text, separator, mark in pieces[1:]:
        candidate = f"{current}{separator}{text}"
        if _width(candidate) > width:
            lines.append(current)
            current = f"{mark} {text}".strip()
        else:
            current = candidate
    return lines + [current]


def expression_lines(expr, numbers=None, given=(), width=LINE_WIDTH):
    """`expr` printed (with `numbers` substituted, if given) as one or more short lines: a product
    breaks between its factors, a sum between its terms, and a bracketed sum too wide for a line
    between its own terms."""
    printer = _Printer(numbers, given)
    if expr.is_Add:
        terms = printer.terms(expr)
        return _broken([(terms[0], "", "")] + [(t, " ", "") for t in terms[1:]], width)
    if not expr.is_Mul or expr.could_extract_minus_sign():
        return [printer.doprint(expr)]
    separator = printer._separator()
    mark = r"\times" if printer.numbers is not None else r"\cdot"
    pieces = []
    for factor, text in printer.factor_items(expr):
        first = (separator, mark) if pieces else ("", "")
        if factor is not None and factor.is_Add and _width(text) > width:
            terms = printer.terms(factor)
            pieces.append((r"\bigl(" + terms[0], *first))
            pieces += [(t, " ", "") for t in terms[1:-1]] + [(terms[-1] + r"\bigr)", " ", "")]
        else:
            pieces.append((text, *first))
    return _broken(pieces, width)


# ---------------------------------------------------------------------------
# Steps: a quantity, its expression, the forms it is shown in, its value.


@dataclass(frozen=True)
class Step:
    """One line of the worked example: `symbol` = each of `forms` = the substituted last form
    = `value`. `forms` are equal expressions (the library's first); `known` holds the values
    substituted, `given` the symbols whose values were given rather than computed."""

    symbol: sp.Symbol
    forms: tuple
    value: float
    known: dict
    given: frozenset

    def latex_lines(self, width=None):
        """The aligned lines: `symbol &= form` for each form, the substitution, the value; each
        right-hand side within `width` (default: what a phone leaves beside this symbol)."""
        width = rhs_width([self.symbol]) if width is None else width
        lines = []
        for k, form in enumerate(self.forms):
            for j, text in enumerate(expression_lines(form, width=width)):
                lines.append(("" if lines else sp.latex(self.symbol) + " ") + ("&= " if j == 0 else r"&\quad ") + text)
        numbers = {s: self.known[s] for s in self.forms[-1].free_symbols}
        for j, text in enumerate(expression_lines(self.forms[-1], numbers, self.given, width)):
            lines.append(("&= " if j == 0 else r"&\quad ") + text)
        lines.append("&= " + number_latex(self.value))
        return lines


def evaluate(expr, known):
    """The value of `expr` with the `known` values substituted, by SymPy (the sigmoid through its
    definition 1/(1 + e^(−x)))."""
    value = expr.subs({s: sp.Float(v, 30) for s, v in known.items()}).rewrite(sp.exp).evalf(30)
    if value.free_symbols:
        raise ValueError(f"no value for {', '.join(sorted(map(str, value.free_symbols)))}: compute it first")
    return float(value)


class _Worked:
    """The worked example so far: the values given and every value computed, in order."""

    def __init__(self, values):
        v = bp.check_values(values)
        self.biases = any(v[b] for b in bp.BIAS_NAMES)
        self.known = {sp.Symbol(name): value for name, value in v.items()}
        self.given = frozenset(self.known)
        self.steps = {}

    def compute(self, key, symbol, expr, *other_forms):
        """Step `key`: `symbol` = `expr` (= each of `other_forms`, the last one substituted)."""
        if not self.biases:
            expr = expr.subs({bp.b1: 0, bp.b2: 0})
        value = evaluate(expr, self.known)
        self.steps[key] = Step(symbol, (expr, *other_forms), value, dict(self.known), self.given)
        self.known[symbol] = value
        return self.steps[key]


def _forward(values):
    worked = _Worked(values)
    for symbol, expr in bp.FORWARD.items():
        if isinstance(expr, bp.sigmoid):  # a = σ(h) = 1/(1 + e^(−h))
            worked.compute(str(symbol), symbol, expr, expr.rewrite(sp.exp))
        else:
            worked.compute(str(symbol), symbol, expr)
    return worked


def forward_steps(values=bp.CLASS_VALUES):
    """Each forward quantity (h1, a_h1, …, E_total) as a `Step`, keyed by name."""
    return _forward(values).steps


def _backward(values):
    worked = _forward(values)
    worked.steps = {}
    for symbol, expr in bp.DELTAS.items():
        worked.compute(str(symbol), symbol, expr)
    for weight, form in bp.CHAIN_RULE.items():
        worked.compute(f"∂E/∂{weight}", bp.gradient_symbol(weight), form)
    if worked.biases:
        for bias, form in bp.BIAS_GRADIENTS.items():
            worked.compute(f"∂E/∂{bias}", bp.gradient_symbol(bias), form)
    return worked


def backward_steps(values=bp.CLASS_VALUES):
    """δ_o1, δ_o2, δ_h1, δ_h2, then each ∂E/∂w = δ · input (and ∂E/∂b with biases), keyed by
    name ("delta_o1", …, "∂E/∂w1", …, "∂E/∂b1")."""
    return _backward(values).steps


def chain_rule_step(weight, values=bp.CLASS_VALUES):
    """∂E/∂w with its delta written out, in the chain rule's order: for w5,
    (a_o1 − t1)·a_o1·(1 − a_o1)·a_h1; for w1, (δ_o1·w5 + δ_o2·w7)·a_h1·(1 − a_h1)·i1."""
    worked = _backward(values)
    delta, feed = bp.CHAIN_RULE[weight].as_ordered_factors()
    delta, feed = (delta, feed) if delta in bp.DELTAS else (feed, delta)
    return worked.compute(str(weight), bp.gradient_symbol(weight), sp.Mul(bp.DELTAS[delta], feed, evaluate=False))


def updated_symbol(weight):
    """w⁺: the weight after the update."""
    return sp.Symbol(f"{sp.latex(weight)}^{{+}}")


def update_steps(values=bp.CLASS_VALUES, learning_rate=0.5):
    """One gradient-descent update of all 8 weights, w⁺ = w − η·∂E/∂w, keyed by weight name."""
    learning_rate = bp.check_learning_rate(learning_rate)
    worked = _backward(values)
    worked.known[eta] = learning_rate
    worked.given = worked.given | {eta}
    worked.steps = {}
    for weight in bp.WEIGHTS:
        worked.compute(str(weight), updated_symbol(weight), weight - eta * bp.gradient_symbol(weight))
    return worked.steps


def steps_latex(steps, names=None, width=LINE_WIDTH):
    """The steps (all, or those `names`, in that order) as one LaTeX `aligned` block, a blank
    line between steps, every line within `width`."""
    chosen = [steps[n] for n in (names or steps)]
    rhs = rhs_width([step.symbol for step in chosen], width)
    blocks = [r" \\ ".join(step.latex_lines(rhs)) for step in chosen]
    return r"\begin{aligned}" + r" \\[0.6em] ".join(blocks) + r"\end{aligned}"


# ---------------------------------------------------------------------------
# Equations without numbers, in the same print.


def equations_latex(equations, biases=False, width=LINE_WIDTH):
    """(lhs, rhs) pairs, such as `bp.FORWARD.items()`, as one LaTeX `aligned` block in the
    worked example's print; a long right-hand side goes over several lines. Biases are left out
    unless asked for."""
    lines, equations = [], list(equations)
    room = rhs_width([lhs for lhs, _ in equations], width)
    for lhs, rhs in equations:
        rhs = rhs if biases else rhs.subs({bp.b1: 0, bp.b2: 0})
        for j, text in enumerate(expression_lines(rhs, width=room)):
            lines.append(f"{sp.latex(lhs)} &= {text}" if j == 0 else rf"&\quad {text}")
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


def gradients_latex(forms=bp.CHAIN_RULE, width=LINE_WIDTH):
    """Each ∂E_total/∂w = its form (default: the chain-rule forms, δ · input)."""
    return equations_latex(((bp.gradient_symbol(w), f) for w, f in forms.items()), width=width)


def derived_latex(weight, biases=False, width=LINE_WIDTH):
    """What `sympy.diff` gives for ∂E_total/∂weight, in the forward-pass names, one term (one
    path through the network) per line, a long term over two."""
    expr = bp.in_forward_names(bp.derived_gradient(weight))
    expr = expr if biases else expr.subs({bp.b1: 0, bp.b2: 0})
    lines, room = [], rhs_width([bp.gradient_symbol(weight)], width) - 2  # room for the sign
    for k, term in enumerate(sorted(sp.Add.make_args(expr), key=_term_rank)):
        sign = "- " if term.could_extract_minus_sign() else ("+ " if k else "")
        for j, text in enumerate(expression_lines(-term if sign == "- " else term, width=room)):
            start = rf"{sp.latex(bp.gradient_symbol(weight))} &= " if not lines else r"&\quad "
            lines.append(start + (sign + text if j == 0 else r"\quad " + text))
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"
