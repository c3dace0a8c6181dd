"""The backprop sheet as an .xlsx with live formulas, printed from `s6lib.backprop.network`.

Every formula cell is one of the library's SymPy equations (`FORWARD` and the
proven `CHAIN_RULE`, the deltas written out) printed in Excel syntax, so the
workbook computes exactly what the library computes. One worksheet per learning
rate, each with a chart of E_total. Each formula cell also stores its value, as
computed by the library (`bp.iterate`), so that a preview that does not compute
formulas (GitHub, Google Drive, Quick Look) shows the numbers; Excel and
LibreOffice recompute everything on opening.

    from s6lib.backprop.excel import write_workbook
    write_workbook("backprop_by_hand.xlsx")
"""

import re
import zipfile
from functools import cache
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import sympy as sp
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from s6lib.backprop.network import (
    CHAIN_RULE,
    CLASS_LEARNING_RATES,
    CLASS_VALUES,
    COLUMNS,
    DELTAS,
    FORWARD,
    GRADIENT_COLUMNS,
    SHEET_STEPS,
    WEIGHT_NAMES,
    check_learning_rate,
    check_steps,
    check_values,
    iterate,
)
from s6lib.book import edition

HEADER_ROW = 20  # rows above it hold the title, η (and the biases, if any), a note and the chart
PARAMETER_CELLS = {"eta": "$B$2", "b1": "$B$3", "b2": "$B$4"}
NOTE_CELL, CHART_CELL = "A6", "D2"
NOTE = "Blue cells are inputs: change η or the first row and every formula updates."
INPUT_FONT = Font(color="1F4EBF")  # the cells a student may change
FIRST_ROW_INPUTS = ("t1", "t2", "i1", "i2") + WEIGHT_NAMES  # the values step 1 starts from


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


def in_sheet_columns(form):
    """A gradient form with its deltas written out, so that it uses only the sheet's columns
    (hidden deltas first: they are written in the output deltas)."""
    for delta, rhs in reversed(DELTAS.items()):
        form = form.subs(delta, rhs)
    return form


def _forms_key(gradients):
    return tuple((CHAIN_RULE | (gradients or {})).items())


@cache
def _templates(has_biases, forms):
    cells = {c: f"{column_letter(c)}{{row}}" for c in COLUMNS} | PARAMETER_CELLS
    no_biases = {} if has_biases else {sp.Symbol("b1"): 0, sp.Symbol("b2"): 0}
    templates = {str(lhs): excel_formula(rhs.subs(no_biases), cells) for lhs, rhs in FORWARD.items()}
    for (_, form), column in zip(forms, GRADIENT_COLUMNS):
        templates[column] = excel_formula(in_sheet_columns(form), cells)
    return templates


def formula_templates(has_biases=False, gradients=None):
    """Formulas for the computed cells (h1 … E_total, the gradients), with `{row}` for the row.
    `gradients` ({weight: form}) replaces some of the chain-rule forms (a sheet with a mistake)."""
    return _templates(has_biases, _forms_key(gradients))


def _carried_formulas(row):
    """Row `row` > first: inputs and targets copied down, weights updated w − η·∂E/∂w."""
    above = row - 1
    formulas = {c: f"={column_letter(c)}{above}" for c in ("t1", "t2", "i1", "i2")}
    for w, g in zip(WEIGHT_NAMES, GRADIENT_COLUMNS):
        formulas[w] = f"={column_letter(w)}{above}-{PARAMETER_CELLS['eta']}*{column_letter(g)}{above}"
    return formulas


def formula_table(step=2, has_biases=False, gradients=None):
    """The cells of one worksheet row (`step` ≥ 2: one with carried and updated values), as a table.
    `gradients` as in `formula_templates`."""
    row = HEADER_ROW + check_steps(step)
    templates = formula_templates(has_biases, gradients)
    formulas = _carried_formulas(row) | {c: t.format(row=row) for c, t in templates.items()}
    return pd.DataFrame(
        [(f"{column_letter(c)}{row}", c, formulas[c]) for c in COLUMNS], columns=["cell", "quantity", "formula"]
    ).set_index("cell")


def _new_sheet(workbook, title: str, learning_rate, values):
    """A worksheet for one η: its title in A1, then each input (η, the weights, the inputs and targets)
    as a label and a blue input cell."""
    ws = workbook.create_sheet(sheet_title(learning_rate))
    ws["A1"] = title
    ws["A1"].font = Font(bold=True)
    for offset, (label, value) in enumerate(_parameters(learning_rate, values)):
        ws.cell(row=2 + offset, column=1, value=label)
        ws.cell(row=2 + offset, column=2, value=value).font = INPUT_FONT
    return ws


def _parameters(learning_rate, values):
    """The labelled inputs above the table, (label, value) from row 2 down: η, then the biases if any."""
    biases = [("b1", values["b1"]), ("b2", values["b2"])] if any(values[b] for b in ("b1", "b2")) else []
    return [("η", learning_rate)] + biases


def layout(values=CLASS_VALUES, steps=SHEET_STEPS):
    """What each worksheet holds, block by block: (cells, what) pairs, from the same constants
    `add_sheet` writes with, for the page that describes the file."""
    values, steps = check_values(values), check_steps(steps)
    parameters = _parameters(1.0, values)
    last_column = column_letter(COLUMNS[-1])
    first, last = HEADER_ROW + 1, HEADER_ROW + steps
    named = ", ".join(label for label, _ in parameters)
    rows = [("A1", "the title"),
            (f"A2:B{1 + len(parameters)}", f"{named}: the label in column A, the value (blue) in column B")]
    rows += [(NOTE_CELL, f"a note: “{NOTE}”"),
             (f"from {CHART_CELL}", "a chart of E_total over the steps"),
             (f"A{HEADER_ROW}:{last_column}{HEADER_ROW}", "the column names: step, then " + ", ".join(COLUMNS)),
             (f"A{first}:{last_column}{first}",
              f"step 1: the starting values of {', '.join(FIRST_ROW_INPUTS)} (blue), then the formulas "
              "of the forward pass and of the eight gradients"),
             (f"A{first + 1}:{last_column}{last}",
              f"steps 2 to {steps}: t and i copied from the row above, each weight updated from the row above "
              "(w − η·∂E/∂w), the same forward-pass and gradient formulas")]
    return rows


def add_sheet(workbook, learning_rate, values=CLASS_VALUES, steps=SHEET_STEPS):
    """Append one worksheet: η (and biases, if any) on top, the chart, then `steps` formula rows."""
    learning_rate, steps, values = check_learning_rate(learning_rate), check_steps(steps), check_values(values)
    has_biases = any(values[b] != 0 for b in ("b1", "b2"))
    ws = _new_sheet(workbook, "Backpropagation by hand: 2-2-2 sigmoid network", learning_rate, values)
    ws[NOTE_CELL] = NOTE

    first = HEADER_ROW + 1
    last = HEADER_ROW + steps
    ws.cell(row=HEADER_ROW, column=1, value="step").font = Font(bold=True)
    for column in COLUMNS:
        ws[f"{column_letter(column)}{HEADER_ROW}"] = column
        ws[f"{column_letter(column)}{HEADER_ROW}"].font = Font(bold=True)
    for row in range(first, last + 1):
        ws.cell(row=row, column=1, value=row - HEADER_ROW)
        if row == first:
            for name in FIRST_ROW_INPUTS:
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
    ws.add_chart(chart, CHART_CELL)
    return ws


def sheet_title(learning_rate):
    return f"η = {learning_rate:g}"


def library_values(learning_rate, values=CLASS_VALUES, steps=SHEET_STEPS):
    """{cell: value} of one worksheet's table, as the library computes it (`bp.iterate`)."""
    sheet = iterate(values, learning_rate, steps)
    return {f"{column_letter(c)}{HEADER_ROW + step}": float(v)
            for step, row in sheet.iterrows() for c, v in row.items()}


_FORMULA_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>([^<]*)</f>(?:<v\s*/>|<v></v>)</c>')
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _sheet_members(archive):
    """{worksheet title: its XML file in the archive}, from the workbook and its relationships."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target") for rel in rels}
    members = {}
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = targets[sheet.get(f"{_REL}id")]
        members[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return members


def cache_values(path, sheets):
    """Store a value beside every formula in the .xlsx at `path`: `sheets` is {title: {cell: value}}.

    openpyxl writes a formula or a value, never both; this rewrites each worksheet's XML so that
    every `<f>` has its `<v>`. ValueError names a formula cell with no value to store.
    """
    path = Path(path)
    with zipfile.ZipFile(path) as archive:
        members = _sheet_members(archive)
        contents = [(info, archive.read(info)) for info in archive.infolist()]
    by_member = {members[title]: cells for title, cells in sheets.items()}

    def with_value(cells, title):
        def replace(match):
            ref, attributes, formula = match.group(1), match.group(2), match.group(3)
            if ref not in cells:
                raise ValueError(f"no value to store for formula cell {title}!{ref} ({formula})")
            return f'<c r="{ref}"{attributes}><f>{formula}</f><v>{cells[ref]!r}</v></c>'
        return replace

    titles = {member: title for title, member in members.items()}
    contents = [(info, _FORMULA_CELL.sub(with_value(by_member[info.filename], titles[info.filename]),
                                         data.decode()).encode() if info.filename in by_member else data)
                for info, data in contents]  # every value found before the file is touched
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in contents:
            archive.writestr(info, data)
    return path


def write_workbook(path, learning_rates=CLASS_LEARNING_RATES, values=CLASS_VALUES, steps=SHEET_STEPS,
                   starter=None):
    """Write the workbook (one worksheet per learning rate, formulas with their values) to `path`.

    `starter` (by default: in the student edition) writes the starter workbook instead."""
    if edition.student() if starter is None else starter:
        return write_starter_workbook(path, learning_rates, values, steps)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for learning_rate in learning_rates:
        add_sheet(workbook, learning_rate, values, steps)
    workbook.calculation.fullCalcOnLoad = True  # the stored values are for previews: recompute on open
    path = Path(path)
    workbook.save(path)
    return cache_values(path, {sheet_title(lr): library_values(lr, values, steps) for lr in learning_rates})


def write_starter_workbook(path, learning_rates=CLASS_LEARNING_RATES, values=CLASS_VALUES, steps=SHEET_STEPS):
    """The student edition's workbook: each worksheet laid out as the finished one (η, the column
    names, step 1's starting values in blue, the step numbers), with every cell a student computes
    left empty: no formula and no value to copy."""
    learning_rates = [check_learning_rate(lr) for lr in learning_rates]
    values, steps = check_values(values), check_steps(steps)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for learning_rate in learning_rates:
        ws = _new_sheet(workbook, "Backpropagation by hand: 2-2-2 sigmoid network (starter)", learning_rate, values)
        ws[NOTE_CELL] = ("Blue cells are the inputs. Fill in each row's forward pass and gradients, "
                         "then the next row's weights (w − η·∂E/∂w).")
        ws.cell(row=HEADER_ROW, column=1, value="step").font = Font(bold=True)
        for column in COLUMNS:
            ws[f"{column_letter(column)}{HEADER_ROW}"] = column
            ws[f"{column_letter(column)}{HEADER_ROW}"].font = Font(bold=True)
        for row in range(HEADER_ROW + 1, HEADER_ROW + steps + 1):
            ws.cell(row=row, column=1, value=row - HEADER_ROW)
        for name in FIRST_ROW_INPUTS:
            ws[f"{column_letter(name)}{HEADER_ROW + 1}"] = values[name]
            ws[f"{column_letter(name)}{HEADER_ROW + 1}"].font = INPUT_FONT
        ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=2)
    path = Path(path)
    workbook.save(path)
    return path
