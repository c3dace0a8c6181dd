"""Check a student's backprop sheet: recompute it from its own inputs and find the first wrong cell.

    from s6lib.backprop.workbook_check import check_workbook
    check_workbook("my_sheet.xlsx")       # in a notebook: its repr says what is wrong, and where
    python -m s6lib check-workbook my_sheet.xlsx

The sheet is read as stored (openpyxl: each cell's value, and its formula where there is one).
Quantities are recognised by their values, not by headers or column positions:

1. a table is a block of rows, one per step, each with at least `MIN_NUMBERS` numbers;
2. the weights are the columns updated from one row to the next, w ← w − k·g, each by a gradient
   column g, with one k shared by all eight (the update the sheet applies; k should be its η);
3. the inputs and targets are among the columns that stay the same on every row;
4. which weight is w1 … w8 and which constant is t1, t2, i1, i2 is the labelling under which the
   most of the first row's values are the network's forward pass and gradients (s6lib.backprop.network's
   equations, float64). The network's symmetries (swapping the hidden units, the outputs, or the
   inputs) leave the values unchanged; between such labellings the headers decide, then the
   class's initial values, then the column order.

Each row is then checked quantity by quantity, in the order they are computed: the weights
against the update of the row above, every other quantity against its equation applied to the
sheet's own values of what it depends on. The first row with a mistake is reported, its first
mistake first, with the likely cause where the pattern is known. Biases are not read (the class's
network has none).
"""

from __future__ import annotations

import itertools
import math
import re
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import sympy as sp
from scipy.special import expit

from . import network as bp
from .excel import in_sheet_columns

MIN_NUMBERS = 12  # numbers in a row of the table: at least the inputs, targets and weights
RTOL, ATOL = 1e-7, 1e-12  # a spreadsheet computes in float64; a wrong formula is off by far more
MAX_CONSTANTS = 6  # columns that stay the same on every row, among which t1, t2, i1, i2 are sought
INPUTS = ("t1", "t2", "i1", "i2")
COMPUTED = tuple(str(s) for s in bp.FORWARD)  # h1 … E_total, in the order they are computed
GRADIENTS = dict(zip(bp.WEIGHT_NAMES, bp.GRADIENT_COLUMNS))  # w1 -> "∂E/∂w1"
LEARNING_RATE_LABEL = re.compile(r"η|eta\b|learning|\blr\b", re.IGNORECASE)

# Cause kinds (Cause.kind).
WRONG_UNIT = "wrong unit"  # `used` where the chain rule needs `needed`
SIGN = "sign flipped"
UPDATED_WEIGHTS = "updated weights"  # the next step's weights where the old ones are needed
LEARNING_RATE = "learning rate"  # the update applied `value` where the sheet's η is `needed`
NOT_UPDATED = "not updated"
OTHER_QUANTITY = "another quantity's value"  # holds `used`'s value
FACTOR_2 = "factor of 2"

# One symbol replaced by another of the same kind: the mistakes of taking the wrong unit's value.
_SIBLINGS = [("a_h1", "a_h2"), ("h1", "h2"), ("a_o1", "a_o2"), ("o1", "o2"), ("t1", "t2"), ("i1", "i2"),
             ("w1", "w2"), ("w3", "w4"), ("w1", "w3"), ("w2", "w4"),
             ("w5", "w6"), ("w7", "w8"), ("w5", "w7"), ("w6", "w8")]
_SWAPS = [{a: b} for a, b in _SIBLINGS] + [{b: a} for a, b in _SIBLINGS] + [
    {"w6": "w5", "w8": "w7"}, {"w5": "w6", "w7": "w8"},  # a hidden delta summed over the other unit's weights
    {"w5": "w7", "w6": "w8"}, {"w7": "w5", "w8": "w6"},
]


class Unreadable(ValueError):
    """The workbook could not be read as a backprop sheet; the message says what was looked for."""


@dataclass(frozen=True)
class Cause:
    kind: str  # one of the kinds above
    used: str | None = None  # what the sheet used
    needed: str | None = None  # what the chain rule (or the update) needs
    value: float | None = None  # a number the cause is about (the learning rate the update applied)

    def __str__(self) -> str:
        if self.kind == WRONG_UNIT:
            return f"uses {self.used} where {self.needed} is needed"
        if self.kind == LEARNING_RATE:
            return f"the update applies η = {self.value:.6g} where the sheet's η is {self.needed}"
        if self.kind == UPDATED_WEIGHTS:
            return f"uses the updated {self.used} (the next step's) where the old ones are needed"
        if self.kind == OTHER_QUANTITY:
            return f"holds the value of {self.used}"
        if self.kind == SIGN and self.used:
            return f"sign flipped ({self.used})"
        return self.kind


@dataclass(frozen=True)
class Mistake:
    quantity: str  # "∂E/∂w3"
    cell: str  # "Sheet1!AA29"
    step: int  # 1: the table's first row
    value: float  # as the sheet stores it
    expected: float  # from the sheet's own values of what it depends on
    formula: str | None  # the cell's formula, where it has one
    cause: Cause | None  # the likely cause, where the pattern is known

    def __str__(self) -> str:
        text = f"{self.quantity} at {self.cell} (step {self.step}) is {self.value:.12g}, should be {self.expected:.12g}"
        return text + (f": {self.cause}" if self.cause else "")


@dataclass(frozen=True)
class TableCheck:
    sheet: str
    cells: str  # the table's range, e.g. "A21:AF100"
    steps: int
    learning_rate: float  # the η the updates are checked against
    learning_rate_cell: str | None  # where it is (None: read from the updates themselves)
    columns: dict[str, str]  # quantity -> column letter
    missing: tuple[str, ...]  # quantities the sheet has no column for (recomputed where needed)
    mistakes: tuple[Mistake, ...]  # the first step with a mistake: every mistake in it, in computing order

    @property
    def ok(self) -> bool:
        return not self.mistakes


@dataclass(frozen=True)
class WorkbookCheck:
    path: str
    tables: tuple[TableCheck, ...] = ()
    unread: tuple[tuple[str, str], ...] = ()  # (sheet, why) for sheets with numbers but no table read
    problem: str | None = None  # why the workbook could not be checked at all

    @property
    def ok(self) -> bool:
        return self.problem is None and all(table.ok for table in self.tables)

    @property
    def first(self) -> Mistake | None:
        """The first mistake of the first table (in workbook order) that has one."""
        return next((table.mistakes[0] for table in self.tables if table.mistakes), None)

    def lines(self) -> list[str]:
        """The report, one line per table (and per further mistake in a table's first wrong step)."""
        if self.problem:
            return [f"{self.path}: {self.problem}"]
        lines = []
        for table in self.tables:
            where = f"{table.sheet}!{table.cells}, η = {table.learning_rate:g}"
            if table.ok:
                lines.append(f"{where}: all {table.steps} steps right")
                continue
            first, *others = table.mistakes
            lines.append(f"{where}: first mistake: {first}")
            lines += [f"    also at step {m.step}: {m}" for m in others]
            if first.formula:
                lines.append(f"    {first.cell} holds {first.formula}")
        lines += [f"{sheet}: not read ({why})" for sheet, why in self.unread]
        return lines

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython
        printer.text(repr(self))


def check_workbook(path: str | Path) -> WorkbookCheck:
    """Read the workbook at `path` and check every backprop table in it (one per learning rate).
    Never raises for a bad file: `problem` then says what was looked for and what to do."""
    try:
        values, formulas = _open(Path(path))
    except Unreadable as err:
        return WorkbookCheck(str(path), problem=str(err))
    tables, unread = [], []
    for ws in values.worksheets:
        numbers = _numbers(ws)
        blocks = _blocks(numbers)
        if not blocks:
            if _uncomputed(ws, formulas[ws.title]):
                unread.append((ws.title, "its formulas have no stored values: open the file in Excel or "
                                         "LibreOffice, save it, and check it again"))
            continue
        for rows, columns in blocks:
            try:
                tables.append(_check_table(ws, formulas[ws.title], numbers, rows, columns))
            except Unreadable as err:
                unread.append((ws.title, str(err)))
    if not tables:
        why = "; ".join(f"{sheet}: {reason}" for sheet, reason in unread)
        return WorkbookCheck(str(path), problem=(
            f"found no backprop table: looked for a block of rows (one per step, at least 2) each holding at "
            f"least {MIN_NUMBERS} numbers: t1, t2, i1, i2, w1..w8, the forward pass and ∂E/∂w1..∂E/∂w8, the "
            f"weights of each row updated from the row above" + (f" ({why})" if why else "")))
    return WorkbookCheck(str(path), tuple(tables), tuple(unread))


# ---------------------------------------------------------------------------
# Reading the file.


def _open(path: Path):
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    if not path.is_file():
        raise Unreadable(f"no file {path}: give the path of the .xlsx to check")
    try:
        return openpyxl.load_workbook(path, data_only=True), openpyxl.load_workbook(path, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as err:
        raise Unreadable(f"cannot open it as an .xlsx workbook ({type(err).__name__}: {err}): save the sheet "
                         "from Excel, LibreOffice or Google Sheets as .xlsx and check that file") from None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _numbers(ws) -> dict[tuple[int, int], float]:
    """{(row, column): value} of every numeric cell, as stored."""
    return {(cell.row, cell.column): float(cell.value) for row in ws.iter_rows() for cell in row
            if _is_number(cell.value)}


def _uncomputed(ws, formula_ws) -> bool:
    """True when a formula cell has no stored value (a file a program wrote, never opened in a spreadsheet)."""
    return any(isinstance(cell.value, str) and cell.value.startswith("=") and ws[cell.coordinate].value is None
               for row in formula_ws.iter_rows() for cell in row)


def _blocks(numbers) -> list[tuple[list[int], list[int]]]:
    """Tables: runs of consecutive rows with ≥ MIN_NUMBERS numbers, with the columns numeric in every
    one of their rows; tables side by side (split by empty columns) apart."""
    by_row: dict[int, set[int]] = {}
    for row, column in numbers:
        by_row.setdefault(row, set()).add(column)
    table_rows = sorted(r for r, cols in by_row.items() if len(cols) >= MIN_NUMBERS)
    runs = [list(g) for _, g in itertools.groupby(table_rows, key=lambda r, c=itertools.count(): r - next(c))]
    blocks = []
    for rows in runs:
        if len(rows) < 2:
            continue
        columns = sorted(set.intersection(*(by_row[r] for r in rows)))
        groups = [list(g) for _, g in itertools.groupby(columns, key=lambda c, k=itertools.count(): c - next(k))]
        merged: list[list[int]] = []
        for group in groups:  # a gap splits two tables only where each side could be one
            if merged and (len(merged[-1]) < 2 * MIN_NUMBERS or len(group) < 2 * MIN_NUMBERS):
                merged[-1] += group
            else:
                merged.append(group)
        blocks += [(rows, group) for group in merged if len(group) >= MIN_NUMBERS]
    return blocks


# ---------------------------------------------------------------------------
# Recognising the quantities.


@cache
def _network():
    """(inputs in INPUT_NAMES order) -> forward values then the eight gradients, float64, vectorised."""
    symbols = sp.symbols(bp.INPUT_NAMES)
    no_biases = {sp.Symbol("b1"): 0, sp.Symbol("b2"): 0}
    outputs = [bp.in_inputs(s).subs(no_biases) for s in bp.FORWARD]
    outputs += [bp.derived_gradient(w).subs(no_biases) for w in bp.WEIGHTS]
    return sp.lambdify(symbols, outputs, modules=[{"sigmoid": expit}, "numpy"], cse=True)


@cache
def _local(quantity: str):
    """(expression in the sheet's columns, its symbols' names, compiled function) of a quantity:
    the forward equation, or the chain rule with the deltas written out."""
    weight = next((w for w, g in GRADIENTS.items() if g == quantity), None)
    expr = in_sheet_columns(bp.CHAIN_RULE[sp.Symbol(weight)]) if weight else bp.FORWARD[sp.Symbol(quantity)]
    expr = expr.subs({sp.Symbol("b1"): 0, sp.Symbol("b2"): 0})
    names = sorted(str(s) for s in expr.free_symbols)
    return expr, names, sp.lambdify(sp.symbols(names), expr, modules=[{"sigmoid": expit}, "numpy"])


def _close(a, b):
    return np.abs(np.asarray(a) - b) <= RTOL * np.maximum(np.abs(a), np.abs(b)) + ATOL


def _updates(matrix: np.ndarray, skip: set[int]) -> tuple[dict[int, int], float]:
    """{weight column: its gradient column} and the shared k of w_next = w − k·g, or Unreadable."""
    change, before = matrix[:-1] - matrix[1:], matrix[:-1]
    transitions, width = change.shape
    pairs = []  # (k, support, weight column, gradient column)
    for a in range(width):
        if a in skip or not np.any(change[:, a]):
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = change[:, a, None] / before  # every candidate gradient column at once
        for b in range(width):
            if b == a or b in skip:
                continue
            finite = ratios[np.isfinite(ratios[:, b]) & (ratios[:, b] != 0), b]
            if finite.size == 0:
                continue
            k = float(np.median(finite))
            support = int(np.sum(_close(finite, k)))
            if support * 2 >= transitions:
                pairs.append((k, support, a, b))
    best: dict[int, int] = {}
    best_k = math.nan
    for k, _, _, _ in pairs:
        cluster = sorted((p for p in pairs if _close(p[0], k)), key=lambda p: -p[1])
        chosen: dict[int, int] = {}
        for _, _, a, b in cluster:
            if a not in chosen and b not in chosen.values():
                chosen[a] = b
        if len(chosen) > len(best):
            best, best_k = chosen, k
    if len(best) > 8:  # a column that copies a weight (or its gradient) too: keep the eight best supported
        support = {(a, b): n for k, n, a, b in pairs if _close(k, best_k)}
        best = dict(sorted(best.items(), key=lambda pair: -support[pair])[:8])
    if len(best) < 8:
        raise Unreadable(f"found the weight update w ← w − η·∂E/∂w (each row's weights from the row above) for "
                         f"{len(best)} of the 8 weights: every row after the first must hold the weights "
                         "updated from the row above, with one η")
    return best, best_k


def _labelling(first_row, weights, gradient_of, constants, hints):
    """{name: column index} for t1, t2, i1, i2, w1..w8: the labelling under which the first row's values
    are most often the network's, ties broken by headers, known initial values, then column order.
    Raises Unreadable when none fits."""
    row_values = np.sort(first_row)

    def present(expected):  # expected value found somewhere in the first row
        position = np.clip(np.searchsorted(row_values, expected), 1, len(row_values) - 1)
        return _close(row_values[position - 1], expected) | _close(row_values[position], expected)

    # One labelling of each set of eight that the network's symmetries make equal (i1's column before
    # i2's, t1's before t2's, w1's before w3's); its images are compared by `preference` below.
    weight_orders = np.array([w for w in itertools.permutations(weights, 8) if w[0] < w[2]])
    gradient_columns = np.vectorize(gradient_of.get)(weight_orders)
    best_score, tied = -1, []
    for t1, t2, i1, i2 in itertools.permutations(constants, 4):
        if t1 > t2 or i1 > i2:
            continue
        columns = dict(zip(INPUTS, first_row[[t1, t2, i1, i2]]))
        columns |= dict(zip(bp.WEIGHT_NAMES, first_row[weight_orders].T))
        outputs = _network()(*(columns[name] for name in bp.INPUT_NAMES))
        forward, gradients = outputs[:len(COMPUTED)], outputs[len(COMPUTED):]
        score = sum(present(np.broadcast_to(q, len(weight_orders))).astype(int) for q in forward)
        for k, g in enumerate(gradients):
            score = score + _close(first_row[gradient_columns[:, k]], g).astype(int)
        top = int(score.max())
        if top > best_score:
            best_score, tied = top, []
        if top == best_score:
            tied += [(t1, t2, i1, i2, *w) for w in weight_orders[score == top]]
    if best_score < len(COMPUTED):  # fewer than half the quantities are the network's
        raise Unreadable("no choice of t1, t2, i1, i2 among the columns that stay the same on every row, and of "
                         "w1..w8 among the updated ones, gives the network's forward pass: is it the 2-2-2 sigmoid "
                         "network with E = ½(t1 − a_o1)² + ½(t2 − a_o2)² and no biases?")
    names = INPUTS + bp.WEIGHT_NAMES

    def preference(labels):
        named = dict(zip(names, labels))
        by_header = sum(_normal(hints.get(c, "")) == _normal(n) for n, c in named.items())
        by_value = max(sum(math.isclose(first_row[named[n]], known[n]) for n in names)
                       for known in (bp.CLASS_VALUES, bp.MAZUR_VALUES))
        pairs = (("i1", "i2"), ("w1", "w3"), ("w5", "w7"), ("w1", "w2"), ("t1", "t2"))
        by_order = sum(named[a] < named[b] for a, b in pairs)
        return by_header, by_value, by_order

    images = [labels for canonical in tied for labels in _symmetric(dict(zip(names, canonical)))]
    return max(images, key=lambda labels: preference(tuple(labels[n] for n in names)))


# The network's symmetries: renaming the inputs, the hidden units or the outputs changes no value.
_SYMMETRIES = ({"i1": "i2", "w1": "w2", "w3": "w4"},
               {"w1": "w3", "w2": "w4", "w5": "w6", "w7": "w8"},
               {"t1": "t2", "w5": "w7", "w6": "w8"})


def _symmetric(labels: dict) -> list[dict]:
    """`labels` and its seven images under the network's symmetries."""
    images = [labels]
    for swap in _SYMMETRIES:
        pairs = swap | {b: a for a, b in swap.items()}
        images += [{pairs.get(name, name): column for name, column in image.items()} for image in images]
    return images


def _normal(text: str) -> str:
    """A header or a name, compared without case, spaces and underscores ("E_tot" is E_total)."""
    normal = re.sub(r"[\s_]", "", str(text)).lower()
    return {"etot": "etotal"}.get(normal, normal)


# ---------------------------------------------------------------------------
# Checking a table.


def _check_table(ws, formula_ws, numbers, rows, columns) -> TableCheck:
    from openpyxl.utils import get_column_letter

    matrix = np.array([[numbers[r, c] for c in columns] for r in rows])
    steps, width = matrix.shape
    index = range(width)
    step_columns = {j for j in index if np.allclose(np.diff(matrix[:, j]), 1)}
    gradient_of, k = _updates(matrix, step_columns)
    constants = [j for j in index if j not in step_columns and j not in gradient_of and j not in gradient_of.values()
                 and np.all(matrix[:, j] == matrix[0, j])]
    if not 4 <= len(constants) <= MAX_CONSTANTS:
        raise Unreadable(f"found {len(constants)} columns that stay the same on every row; t1, t2, i1 and i2 must "
                         f"be four of them (at most {MAX_CONSTANTS} such columns)")
    header_row = rows[0] - 1
    hints = {j: ws.cell(row=header_row, column=columns[j]).value for j in index}
    hints = {j: h for j, h in hints.items() if isinstance(h, str)}
    labels = _labelling(matrix[0], list(gradient_of), gradient_of, constants, hints)
    where = dict(labels)
    where |= {GRADIENTS[w]: gradient_of[labels[w]] for w in bp.WEIGHT_NAMES}
    missing = _map_computed(matrix, where, hints, step_columns)
    learning_rate, rate_cell = _learning_rate(ws, numbers, rows, abs(k))

    def cell(name, step):
        return f"{get_column_letter(columns[where[name]])}{rows[step]}"

    mistakes: list[Mistake] = []
    for step in range(steps):
        values = {name: matrix[step, j] for name, j in where.items()}
        values |= _recomputed(values, missing)
        for name, expected, cause in _row_checks(matrix, where, step, learning_rate, values, missing):
            ref = cell(name, step)
            formula = formula_ws[ref].value
            mistakes.append(Mistake(name, f"{ws.title}!{ref}", step + 1, float(values[name]), float(expected),
                                    formula if isinstance(formula, str) and formula.startswith("=") else None, cause))
        if mistakes:
            break
    first, last = get_column_letter(columns[0]), get_column_letter(columns[-1])
    return TableCheck(ws.title, f"{first}{rows[0]}:{last}{rows[-1]}", steps, learning_rate, rate_cell,
                      {name: get_column_letter(columns[j]) for name, j in where.items()}, missing, tuple(mistakes))


def _map_computed(matrix, where, hints, step_columns) -> tuple[str, ...]:
    """Add h1 … E_total to `where`: each the column whose first-row value is its equation applied to the
    sheet's values (or else to the inputs); else a column left over (by header, then nearest value).
    Returns the quantities with no column."""
    first = matrix[0]
    free = [j for j in range(len(first)) if j not in where.values() and j not in step_columns]
    values = {name: first[j] for name, j in where.items()}
    from_inputs = dict(zip(COMPUTED, _network()(*(values[n] for n in bp.INPUT_NAMES))))
    unmatched = []
    for name in COMPUTED:
        _, symbols, function = _local(name)
        local = function(*(values[s] if s in values else from_inputs[s] for s in symbols))
        found = [j for j in free if _close(first[j], local) or _close(first[j], from_inputs[name])]
        if found:
            where[name] = found[0]
            free.remove(found[0])
            values[name] = first[found[0]]
        else:
            unmatched.append(name)
    missing = []
    for name in unmatched:  # a wrong column: by its header, else the leftover nearest the right value
        if not free:
            missing.append(name)
            continue
        by_header = [j for j in free if _normal(hints.get(j, "")) == _normal(name)]
        scale = abs(from_inputs[name]) or 1.0
        j = by_header[0] if by_header else min(free, key=lambda j: abs(math.log((abs(first[j]) + 1e-300) / scale)))
        where[name] = j
        free.remove(j)
    return tuple(missing)


def _recomputed(values, missing) -> dict[str, float]:
    """The quantities the sheet lacks, from its inputs and weights."""
    if not missing:
        return {}
    network = dict(zip(COMPUTED, _network()(*(values[n] for n in bp.INPUT_NAMES))))
    return {name: network[name] for name in missing}


def _learning_rate(ws, numbers, rows, k) -> tuple[float, str | None]:
    """The sheet's η: a cell outside the table holding the updates' k (a labelled one first); else a cell
    labelled η / learning rate / lr, or a sheet title "η = …"; else k itself (no cell)."""
    from openpyxl.utils import get_column_letter

    outside = {rc: v for rc, v in numbers.items() if not rows[0] <= rc[0] <= rows[-1]}

    def labelled(r, c):
        label = ws.cell(row=r, column=c - 1).value if c > 1 else None
        return isinstance(label, str) and bool(LEARNING_RATE_LABEL.search(label))

    same = sorted((not labelled(*rc), rc) for rc, v in outside.items() if _close(v, k))
    if same:
        r, c = same[0][1]
        return outside[r, c], f"{ws.title}!{get_column_letter(c)}{r}"
    for (r, c), v in sorted(outside.items()):
        if labelled(r, c) and v > 0:
            return v, f"{ws.title}!{get_column_letter(c)}{r}"
    title = re.search(r"(?:η|eta|lr)\s*=\s*([0-9.]+(?:e-?[0-9]+)?)", ws.title, re.IGNORECASE)
    if title:
        return float(title.group(1)), f"the sheet's title ({ws.title})"
    return k, None


def _row_checks(matrix, where, step, learning_rate, values, missing):
    """(quantity, expected, cause) for each wrong quantity of the row `step`, in computing order."""
    if step > 0:
        before = {name: matrix[step - 1, j] for name, j in where.items()}
        for w in bp.WEIGHT_NAMES:
            expected = before[w] - learning_rate * before[GRADIENTS[w]]
            if not _close(values[w], expected):
                yield w, expected, _update_cause(values[w], before, w, learning_rate)
    following = {name: matrix[step + 1, where[name]] for name in bp.WEIGHT_NAMES} if step + 1 < len(matrix) else None
    for name in COMPUTED + tuple(GRADIENTS.values()):
        if name in missing:
            continue
        _, symbols, function = _local(name)
        expected = function(*(values[s] for s in symbols))
        if not _close(values[name], expected):
            yield name, expected, _cause(name, values, expected, following)


def _update_cause(value, before, weight, learning_rate) -> Cause | None:
    gradient = before[GRADIENTS[weight]]
    if _close(value, before[weight] + learning_rate * gradient):
        return Cause(SIGN, used="w + η·∂E/∂w", needed="w − η·∂E/∂w")
    if _close(value, before[weight]):
        return Cause(NOT_UPDATED)
    for other, g in GRADIENTS.items():
        if other != weight and _close(value, before[weight] - learning_rate * before[g]):
            return Cause(WRONG_UNIT, used=g, needed=GRADIENTS[weight])
    if gradient != 0:
        return Cause(LEARNING_RATE, needed=f"{learning_rate:g}", value=(before[weight] - value) / gradient)
    return None


def _cause(name, values, expected, following) -> Cause | None:
    value = values[name]
    if _close(value, -expected):
        return Cause(SIGN)
    expr, symbols, _ = _local(name)
    for swap in _SWAPS:
        if not set(swap) <= set(symbols):
            continue
        changed = expr.subs({sp.Symbol(a): sp.Symbol(b) for a, b in swap.items()}, simultaneous=True)
        if _close(value, _evaluate(changed, values)):
            return Cause(WRONG_UNIT, used=", ".join(swap.values()), needed=", ".join(swap))
    if following is not None:
        outputs = {w: following[w] for w in ("w5", "w6", "w7", "w8")}
        for updated, label in ((outputs, "w5..w8"), (following, "w1..w8")):
            if set(updated) & set(symbols) and _close(value, _evaluate(expr, values | updated)):
                return Cause(UPDATED_WEIGHTS, used=label)
    for other, other_value in values.items():
        if other != name and other not in bp.INPUT_NAMES and _close(value, other_value):
            return Cause(OTHER_QUANTITY, used=other)
    if expected and (_close(value, 2 * expected) or _close(value, expected / 2)):
        return Cause(FACTOR_2)
    return None


def _evaluate(expr, values) -> float:
    names = sorted(str(s) for s in expr.free_symbols)
    return float(sp.lambdify(sp.symbols(names), expr, modules=[{"sigmoid": expit}, "numpy"])(
        *(values[n] for n in names)))
