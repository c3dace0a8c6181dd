"""The generated workbook, recomputed from its own formulas, equals the library."""

import shutil
import subprocess

import formulas
import numpy as np
import openpyxl
import pytest
import sympy as sp

from s6lib.backprop import network as bp
from s6lib.backprop.excel import (
    CHART_CELL,
    FIRST_ROW_INPUTS,
    HEADER_ROW,
    NOTE,
    NOTE_CELL,
    add_sheet,
    cache_values,
    column_letter,
    excel_formula,
    formula_table,
    layout,
    write_workbook,
)


def _recomputed_by_formulas(path):
    """{sheet title (upper case, as `formulas` keys it): {cell: value}} computed by the formulas engine."""
    solution = formulas.ExcelModel().loads(str(path)).finish().calculate()
    sheets = {}
    for key, cell in solution.items():
        sheet, ref = key.rsplit("!", 1)
        sheets.setdefault(sheet.split("]", 1)[1].rstrip("'"), {})[ref] = cell.value[0, 0]
    return sheets


def _assert_sheet_matches(cell_value, values, learning_rate, steps):
    expected = bp.iterate(values, learning_rate, steps)
    for step, row in expected.iterrows():
        for column, value in row.items():
            got = cell_value(f"{column_letter(column)}{HEADER_ROW + step}")
            assert abs(got - value) <= 1e-12, (learning_rate, step, column, got, value)


@pytest.mark.parametrize(
    "values, learning_rates",
    [(bp.CLASS_VALUES, (0.5, 2.0)), (bp.MAZUR_VALUES, (bp.MAZUR_LEARNING_RATE,))],
    ids=["class", "mazur-with-biases"],
)
def test_formula_engine_recomputes_the_library(tmp_path, values, learning_rates):
    steps = 8
    path = write_workbook(tmp_path / "sheet.xlsx", learning_rates, values, steps)
    sheets = _recomputed_by_formulas(path)
    for learning_rate in learning_rates:
        cells = sheets[f"η = {learning_rate:g}".upper()]
        _assert_sheet_matches(cells.__getitem__, values, learning_rate, steps)


def test_workbook_has_live_formulas_and_a_chart_per_learning_rate(tmp_path):
    workbook = openpyxl.load_workbook(write_workbook(tmp_path / "sheet.xlsx"))
    assert workbook.sheetnames == [f"η = {lr:g}" for lr in bp.CLASS_LEARNING_RATES]
    for ws, learning_rate in zip(workbook.worksheets, bp.CLASS_LEARNING_RATES):
        assert ws["B2"].value == learning_rate
        assert ws.max_row == HEADER_ROW + bp.SHEET_STEPS
        for column in bp.COLUMNS:  # every cell below the first row is a formula
            assert str(ws[f"{column_letter(column)}{HEADER_ROW + 2}"].value).startswith("="), column
        assert ws[f"{column_letter('w5')}{HEADER_ROW + 2}"].value == (
            f"={column_letter('w5')}{HEADER_ROW + 1}-$B$2*{column_letter('∂E/∂w5')}{HEADER_ROW + 1}"
        )
        assert len(ws._charts) == 1


def test_excel_printer_keeps_the_sign_of_negated_powers():
    # Excel reads -A1^2 as (-A1)^2; the printer must not emit that for -(A1²).
    x, y = sp.symbols("x y")
    for expr in (-(x**2) + y, -(x**2), y - x**2 / 2, -x * (1 - x)):
        formula = excel_formula(expr, {"x": "A1", "y": "B1"})
        compiled = formulas.Parser().ast(formula)[1].compile()
        assert float(compiled(3.0, 1.0) if len(compiled.inputs) == 2 else compiled(3.0)) == pytest.approx(
            float(expr.subs({x: 3.0, y: 1.0}))
        ), formula


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None,
                    reason="LibreOffice is not installed (Debian: apt-get install libreoffice-calc-nogui)")
def test_libreoffice_opens_and_recomputes_the_workbook(tmp_path):
    path = write_workbook(tmp_path / "backprop_by_hand.xlsx")
    out = tmp_path / "recalculated"
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless", "--norestore",
         "--convert-to", "xlsx", "--outdir", str(out), str(path)],
        check=True, capture_output=True, timeout=180,
    )
    workbook = openpyxl.load_workbook(out / path.name, data_only=True)
    for ws, learning_rate in zip(workbook.worksheets, bp.CLASS_LEARNING_RATES):
        values = [[c.value for c in row] for row in ws.iter_rows(min_row=HEADER_ROW + 1)]
        assert not any(isinstance(v, str) and (v.startswith("#") or v.startswith("Err:")) for r in values for v in r)
        loss = [ws[f"{column_letter('E_total')}{HEADER_ROW + step}"].value for step in range(1, bp.SHEET_STEPS + 1)]
        expected = bp.iterate(bp.CLASS_VALUES, learning_rate)["E_total"].to_numpy()
        np.testing.assert_allclose(loss, expected, rtol=0, atol=1e-12)


def test_every_formula_cell_stores_the_librarys_value(tmp_path):
    """Previews that do not compute (GitHub, Drive, Quick Look) show the stored values: each formula
    cell carries one, read back here without any spreadsheet program, equal to bp.iterate."""
    path = write_workbook(tmp_path / "sheet.xlsx")
    formulas_view = openpyxl.load_workbook(path)
    values_view = openpyxl.load_workbook(path, data_only=True)
    for learning_rate in bp.CLASS_LEARNING_RATES:
        title = f"η = {learning_rate:g}"
        with_formulas, stored = formulas_view[title], values_view[title]
        expected = bp.iterate(bp.CLASS_VALUES, learning_rate)
        formula_cells = 0
        for step, row in expected.iterrows():
            for column, value in row.items():
                ref = f"{column_letter(column)}{HEADER_ROW + step}"
                if str(with_formulas[ref].value).startswith("="):
                    formula_cells += 1
                got = stored[ref].value
                assert isinstance(got, float) and abs(got - value) <= 1e-12, (title, ref, got, value)
        assert formula_cells == len(bp.COLUMNS) * bp.SHEET_STEPS - len(FIRST_ROW_INPUTS)


def test_a_formula_cell_without_a_value_is_named(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    add_sheet(workbook, 0.5, steps=3)
    workbook.save(tmp_path / "sheet.xlsx")  # as openpyxl writes it: formulas, no values
    with pytest.raises(ValueError, match=r"no value to store for formula cell η = 0\.5!J21 \(=?D21\*F21"):
        cache_values(tmp_path / "sheet.xlsx", {"η = 0.5": {}})


def test_the_layout_the_page_describes_is_what_the_sheet_holds(tmp_path):
    ws = openpyxl.load_workbook(write_workbook(tmp_path / "sheet.xlsx", (0.5,)))["η = 0.5"]
    blocks = dict(layout(bp.CLASS_VALUES))
    assert blocks["A2:B2"].startswith("η:") and ws["A2"].value == "η" and ws["B2"].value == 0.5
    assert ws["A3"].value is None and not any("bias" in what for what in blocks.values())  # none to describe
    assert ws[NOTE_CELL].value == NOTE and NOTE in blocks[NOTE_CELL]
    assert ws._charts[0].anchor._from.col == 3 and blocks[f"from {CHART_CELL}"].startswith("a chart")
    mazur = openpyxl.load_workbook(write_workbook(tmp_path / "m.xlsx", (0.5,), bp.MAZUR_VALUES))["η = 0.5"]
    assert (mazur["A3"].value, mazur["A4"].value) == ("b1", "b2") and "A2:B4" in dict(layout(bp.MAZUR_VALUES))


def test_a_sheet_with_a_mistake_prints_that_mistake():
    from s6lib.backprop.answers import BROKEN_SHEET_GRADIENTS

    right, broken = formula_table(2), formula_table(2, gradients=BROKEN_SHEET_GRADIENTS)
    differs = [cell for cell in right.index if right.loc[cell, "formula"] != broken.loc[cell, "formula"]]
    assert differs == [f"{column_letter('∂E/∂w6')}{HEADER_ROW + 2}"]
    assert broken.loc[differs[0], "formula"] == right.loc[f"{column_letter('∂E/∂w5')}{HEADER_ROW + 2}", "formula"]
