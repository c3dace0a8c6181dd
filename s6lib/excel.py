"""The backprop sheet as an .xlsx with live formulas, printed from `s6lib.backprop`.

Every formula cell is one of the library's SymPy equations (`FORWARD` and the
proven `CHAIN_RULE`) printed in Excel syntax, so the workbook computes exactly
what the library computes. One worksheet per learning rate, each with a chart
of E_total.

    from s6lib.excel import write_workbook
    write_workbook("backprop_by_hand.xlsx")
"""

from functools import cache
from pathlib import Path

import pandas as pd
import sympy as sp
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from s6lib.backprop import (
    CHAIN_RULE, CLASS_LEARNING_RATES, CLASS_VALUES, COLUMNS, DELTAS, FORWARD, GRADIENT_COLUMNS,
    SHEET_STEPS, WEIGHT_NAMES, check_learning_rate, check_steps, check_values,
)

HEADER_ROW = 20  # rows above it hold η, the biases, a note and the chart
PARAMETER_CELLS = {"eta": "$B$2", "b1": "$B$3", "b2": "$B$4"}
INPUT_FONT = Font(color="1F4EBF")  # the cells a student may change


def column_letter(column):
    """Excel column of a sheet column ("t1", "E_total", "∂E/∂w1", …); column A is the step."""
    return get_column_letter(COLUMNS.index(column) + 2)


class ExcelPrinter(StrPrinter):
    """Prints a SymPy expression as an Excel formula, each symbol replaced by its cell."""

    def __init__(self, cells):
        super().__init__()
        self.cells = cells

    def _print_Symbol(self, expr):
        return self.cells[expr.name]

    def _print_sigmoid(self, expr):
        return f"1/(1+EXP(-{self.parenthesize(expr.args[0], precedence(expr) + 1)}))"

    def _print_Pow(self, expr):
        base = self.parenthesize(expr.base, precedence(expr) + 1)
        return f"{base}^{self.parenthesize(expr.exp, precedence(expr) + 1)}"

    def _print_Mul(self, expr):
        # Excel's unary minus binds tighter than ^ (-x^2 is +x²), so a negative
        # product is printed as -(…) around its positive part.
        if expr.could_extract_minus_sign():
            return f"-({self._print(-expr)})"
        return super()._print_Mul(expr)

    def _print_Add(self, expr):
        # A positive term first avoids a leading unary minus (see _print_Mul).
        terms = sorted(expr.as_ordered_terms(), key=lambda t: t.could_extract_minus_sign())
        text = self._print(terms[0])
        for term in terms[1:]:
            if term.could_extract_minus_sign():
                text += " - " + self.parenthesize(-term, precedence(expr))
            else:
                text += " + " + self.parenthesize(term, precedence(expr))
        return text


def excel_formula(expr, cells):
    """`=…` for `expr`, with `cells` mapping each symbol name to a cell reference."""
    return "=" + ExcelPrinter(cells).doprint(expr)


@cache
def formula_templates(has_biases=False):
    """Formulas for the computed cells (h1 … E_total, the gradients), with `{row}` for the row."""
    cells = {c: f"{column_letter(c)}{{row}}" for c in COLUMNS} | PARAMETER_CELLS
    no_biases = {} if has_biases else {sp.Symbol("b1"): 0, sp.Symbol("b2"): 0}
    templates = {str(lhs): excel_formula(rhs.subs(no_biases), cells) for lhs, rhs in FORWARD.items()}
    for form, column in zip(CHAIN_RULE.values(), GRADIENT_COLUMNS):
        templates[column] = excel_formula(form.subs(DELTAS), cells)
    return templates


def _carried_formulas(row):
    """Row `row` > first: inputs and targets copied down, weights updated w − η·∂E/∂w."""
    above = row - 1
    formulas = {c: f"={column_letter(c)}{above}" for c in ("t1", "t2", "i1", "i2")}
    for w, g in zip(WEIGHT_NAMES, GRADIENT_COLUMNS):
        formulas[w] = f"={column_letter(w)}{above}-{PARAMETER_CELLS['eta']}*{column_letter(g)}{above}"
    return formulas


def formula_table(step=2, has_biases=False):
    """The cells of one worksheet row (`step` ≥ 2: one with carried and updated values), as a table."""
    row = HEADER_ROW + check_steps(step)
    formulas = _carried_formulas(row) | {c: t.format(row=row) for c, t in formula_templates(has_biases).items()}
    return pd.DataFrame(
        [(f"{column_letter(c)}{row}", c, formulas[c]) for c in COLUMNS], columns=["cell", "quantity", "formula"]
    ).set_index("cell")


def add_sheet(workbook, learning_rate, values=CLASS_VALUES, steps=SHEET_STEPS):
    """Append one worksheet: η and biases on top, the chart, then `steps` formula rows."""
    learning_rate, steps, values = check_learning_rate(learning_rate), check_steps(steps), check_values(values)
    has_biases = any(values[b] != 0 for b in ("b1", "b2"))
    ws = workbook.create_sheet(f"η = {learning_rate:g}")

    ws["A1"] = "Backpropagation by hand: 2-2-2 sigmoid network"
    ws["A1"].font = Font(bold=True)
    parameters = [("η", learning_rate)] + ([("b1", values["b1"]), ("b2", values["b2"])] if has_biases else [])
    for offset, (label, value) in enumerate(parameters):
        ws.cell(row=2 + offset, column=1, value=label)
        ws.cell(row=2 + offset, column=2, value=value).font = INPUT_FONT
    ws["A6"] = "Blue cells are inputs: change η or the first row and every formula updates."

    first = HEADER_ROW + 1
    last = HEADER_ROW + steps
    ws.cell(row=HEADER_ROW, column=1, value="step").font = Font(bold=True)
    for column in COLUMNS:
        ws[f"{column_letter(column)}{HEADER_ROW}"] = column
        ws[f"{column_letter(column)}{HEADER_ROW}"].font = Font(bold=True)
    for row in range(first, last + 1):
        ws.cell(row=row, column=1, value=row - HEADER_ROW)
        if row == first:
            for name in ("t1", "t2", "i1", "i2") + WEIGHT_NAMES:
                ws[f"{column_letter(name)}{row}"] = values[name]
                ws[f"{column_letter(name)}{row}"].font = INPUT_FONT
        else:
            for column, formula in _carried_formulas(row).items():
                ws[f"{column_letter(column)}{row}"] = formula
        for column, template in formula_templates(has_biases).items():
            ws[f"{column_letter(column)}{row}"] = template.format(row=row)
    ws.freeze_panes = ws.cell(row=first, column=2)

    chart = LineChart()
    chart.title = f"E_total over the steps, η = {learning_rate:g}"
    chart.x_axis.title, chart.y_axis.title = "step", "E_total"
    chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl hides axes by default in new Excel
    loss_column = COLUMNS.index("E_total") + 2
    chart.add_data(Reference(ws, min_col=loss_column, min_row=HEADER_ROW, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    chart.legend = None
    chart.width, chart.height = 18, 8.5  # cm, fits above the table
    ws.add_chart(chart, "D2")
    return ws


def write_workbook(path, learning_rates=CLASS_LEARNING_RATES, values=CLASS_VALUES, steps=SHEET_STEPS):
    """Write the workbook (one worksheet per learning rate) to `path` and return the path."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for learning_rate in learning_rates:
        add_sheet(workbook, learning_rate, values, steps)
    workbook.calculation.fullCalcOnLoad = True  # openpyxl stores no results: compute on open
    path = Path(path)
    workbook.save(path)
    return path
