"""The workbook checker finds the first wrong cell of a backprop sheet, whatever its layout."""

import random

import openpyxl
import pandas as pd
import pytest
import sympy as sp

from s6lib.__main__ import main
from s6lib.backprop import network as bp
from s6lib.backprop import workbook_check as wc
from s6lib.backprop.excel import HEADER_ROW, in_sheet_columns, write_workbook

from conftest import ROOT

ORIGINAL_SHEET = ROOT.parent / "shared" / "seed" / "NN_BackPropogation_Experiments.xlsx"
STEPS = 12
w5, w6 = sp.Symbol("w5"), sp.Symbol("w6")


def write_table(path, frame, learning_rate, *, shuffle=None, rename=False, first_row=4, label="η ="):
    """A sheet of `frame`'s values (no formulas): its columns in the book's order, or shuffled with
    `shuffle` as the seed; headers the book's or renamed to "col 1", "col 2", ...; η beside `label`."""
    columns = list(frame.columns)
    if shuffle is not None:
        random.Random(shuffle).shuffle(columns)
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = "mine"
    ws["A1"], ws["B1"] = label, learning_rate
    for j, column in enumerate(columns, start=1):
        ws.cell(row=first_row, column=j, value=f"col {j}" if rename else column)
        for step, value in enumerate(frame[column], start=1):
            ws.cell(row=first_row + step, column=j, value=float(value))
    workbook.save(path)
    return path, {column: openpyxl.utils.get_column_letter(j) for j, column in enumerate(columns, start=1)}


def only_table(result):
    assert result.problem is None and len(result.tables) == 1, result
    return result.tables[0]


@pytest.mark.skipif(not ORIGINAL_SHEET.exists(), reason="the original assignment's sheet is not beside the repository")
def test_the_original_sheets_gradient_error_is_found():
    result = wc.check_workbook(ORIGINAL_SHEET)
    table = only_table(result)
    sheet = openpyxl.load_workbook(ORIGINAL_SHEET, data_only=True).active
    first = table.mistakes[0]
    assert [m.quantity for m in table.mistakes] == ["∂E/∂w3", "∂E/∂w4"] and first is result.first
    assert first.step == 1 and first.cell.endswith(f"{table.columns['∂E/∂w3']}{first.cell[-2:]}")
    ref = first.cell.split("!")[1]
    assert first.value == sheet[ref].value and sheet[ref].value != pytest.approx(first.expected, rel=1e-6)
    assert first.expected == pytest.approx(bp.forward_pass(dict(bp.CLASS_VALUES))["∂E/∂w3"], rel=1e-12)
    assert first.formula.startswith("=") and first.cause == wc.Cause(wc.WRONG_UNIT, used="a_h1", needed="a_h2")
    assert table.learning_rate == sheet[table.learning_rate_cell.split("!")[1]].value


def test_the_books_workbook_has_no_mistake(tmp_path):
    rates = (0.5, 2.0)
    result = wc.check_workbook(write_workbook(tmp_path / "book.xlsx", rates, steps=STEPS))
    assert result.ok and result.first is None and not result.unread
    assert [(t.sheet, t.learning_rate, t.learning_rate_cell, t.steps) for t in result.tables] == [
        (f"η = {lr:g}", lr, f"η = {lr:g}!B2", STEPS) for lr in rates]
    assert "all 12 steps right" in repr(result)


@pytest.mark.parametrize("rename", [False, True], ids=["book-headers", "renamed"])
def test_a_copy_of_the_books_sheet_with_columns_reordered_and_renamed_is_read_by_its_values(tmp_path, rename):
    book = openpyxl.load_workbook(write_workbook(tmp_path / "book.xlsx", (0.8,), steps=STEPS), data_only=True).active
    header = HEADER_ROW  # the book's table: names in this row, one step per row below, from column B
    copied = pd.DataFrame({book.cell(row=header, column=c).value: [book.cell(row=header + k, column=c).value
                                                                   for k in range(1, STEPS + 1)]
                           for c in range(2, book.max_column + 1)})
    assert list(copied.columns) == list(bp.COLUMNS)
    path, letters = write_table(tmp_path / "mine.xlsx", copied, book["B2"].value, shuffle=3, rename=rename,
                                label="learning rate")
    table = only_table(wc.check_workbook(path))
    assert table.ok and table.learning_rate == 0.8 and table.learning_rate_cell == "mine!B1"
    # t1 = t2 = 0.5 in the class's sheet: which of the two columns is t1 no value can tell
    assert {q: c for q, c in table.columns.items() if q not in ("t1", "t2")} == {
        q: c for q, c in letters.items() if q not in ("t1", "t2")}
    assert {table.columns["t1"], table.columns["t2"]} == {letters["t1"], letters["t2"]}


def test_other_initial_values_and_no_learning_rate_cell(tmp_path):
    values = dict(bp.CLASS_VALUES, i1=0.3, i2=0.7, t1=0.2, t2=0.9, w1=-0.4, w6=1.1)
    frame = bp.iterate(values, 1.5, STEPS)
    path, letters = write_table(tmp_path / "mine.xlsx", frame, "none", shuffle=5)
    table = only_table(wc.check_workbook(path))
    assert table.ok and table.learning_rate == pytest.approx(1.5) and table.learning_rate_cell is None
    assert table.columns == letters  # the headers tell the symmetric labellings apart


def mistaken(gradients, learning_rate=0.5):
    return bp.iterate(bp.CLASS_VALUES, learning_rate, STEPS, gradients=bp.CHAIN_RULE | gradients)


@pytest.mark.parametrize("frame, quantity, cause", [
    (mistaken({w6: -bp.CHAIN_RULE[w6]}), "∂E/∂w6", wc.Cause(wc.SIGN)),
    (mistaken({w6: bp.delta_o1 * bp.a_h1}), "∂E/∂w6", wc.Cause(wc.WRONG_UNIT, used="a_h1", needed="a_h2")),
    (mistaken(bp.ORIGINAL_SHEET_GRADIENTS), "∂E/∂w3", wc.Cause(wc.WRONG_UNIT, used="a_h1", needed="a_h2")),
], ids=["sign", "output-unit", "original"])
def test_a_wrong_gradient_is_named_with_its_cause(tmp_path, frame, quantity, cause):
    path, letters = write_table(tmp_path / "mine.xlsx", frame, 0.5, shuffle=11, rename=True)
    first = wc.check_workbook(path).first
    assert (first.quantity, first.step, first.cell, first.cause) == (quantity, 1, f"mine!{letters[quantity]}5", cause)
    assert first.value == pytest.approx(frame[quantity].iloc[0], rel=1e-15)
    assert first.expected == pytest.approx(bp.forward_pass(bp.CLASS_VALUES)[quantity], rel=1e-12)


def test_a_learning_rate_other_than_the_sheets_is_named(tmp_path):
    path, letters = write_table(tmp_path / "mine.xlsx", bp.iterate(bp.CLASS_VALUES, 0.5, STEPS), 2.0, shuffle=1)
    first = wc.check_workbook(path).first
    assert (first.quantity, first.step, first.cell) == ("w1", 2, f"mine!{letters['w1']}6")
    assert first.cause.kind == wc.LEARNING_RATE and first.cause.value == pytest.approx(0.5)


def test_a_flipped_update_is_named(tmp_path):
    rows = [dict(bp.CLASS_VALUES)]
    for _ in range(STEPS - 1):  # w ← w + η·∂E/∂w: the sheet climbs the error
        row = bp.forward_pass(rows[-1])
        rows.append(rows[-1] | {w: row[w] + 0.5 * row[g] for w, g in zip(bp.WEIGHT_NAMES, bp.GRADIENT_COLUMNS)})
    frame = pd.DataFrame([bp.forward_pass(r) for r in rows])
    path, letters = write_table(tmp_path / "mine.xlsx", frame, 0.5, shuffle=2)
    first = wc.check_workbook(path).first
    assert (first.quantity, first.step, first.cause.kind) == ("w1", 2, wc.SIGN)


def test_hidden_gradients_from_the_updated_output_weights_are_named(tmp_path):
    """Mazur's warning: the hidden layer's gradients need the output weights before their update."""
    eta, rows, current = 0.5, [], dict(bp.CLASS_VALUES)
    for _ in range(STEPS):
        row = bp.forward_pass(current)
        updated = {w: current[w] - eta * row[g] for w, g in zip(bp.WEIGHT_NAMES, bp.GRADIENT_COLUMNS)}
        values = dict(row) | {w: updated[w] for w in ("w5", "w6", "w7", "w8")}
        for w in ("w1", "w2", "w3", "w4"):
            form = in_sheet_columns(bp.CHAIN_RULE[sp.Symbol(w)])
            row[bp.GRADIENT_COLUMNS[int(w[1]) - 1]] = float(form.subs({sp.Symbol(k): v for k, v in values.items()}))
        rows.append(row)
        current = {k: current[k] for k in bp.INPUT_NAMES} | {
            w: current[w] - eta * row[g] for w, g in zip(bp.WEIGHT_NAMES, bp.GRADIENT_COLUMNS)}
    frame = pd.DataFrame(rows)
    path, _ = write_table(tmp_path / "mine.xlsx", frame, eta, shuffle=4)
    first = wc.check_workbook(path).first
    assert (first.quantity, first.step, first.cause) == ("∂E/∂w1", 1, wc.Cause(wc.UPDATED_WEIGHTS, used="w5..w8"))


def test_unreadable_files_get_a_message_not_a_traceback(tmp_path, capsys):
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook")
    empty = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(empty)
    frozen = bp.iterate(bp.CLASS_VALUES, 0.5, STEPS)
    frozen[list(bp.WEIGHT_NAMES)] = frozen[list(bp.WEIGHT_NAMES)].iloc[0].to_numpy()  # never updated
    still, _ = write_table(tmp_path / "still.xlsx", frozen, 0.5)
    uncomputed = tmp_path / "uncomputed.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active["A1"], workbook.active["A2"] = 1, "=A1*2"
    workbook.save(uncomputed)
    cases = {text: "cannot open it as an .xlsx workbook", empty: "found no backprop table",
             still: "found the weight update w ← w − η·∂E/∂w (each row's weights from the row above) for ",
             uncomputed: "its formulas have no stored values", tmp_path / "absent.xlsx": "no file"}
    for path, message in cases.items():
        result = wc.check_workbook(path)
        assert not result.ok and message in result.problem, (path, result.problem)
        assert main(["check-workbook", str(path)]) == 2
        assert f"error: {result.problem}" in capsys.readouterr().err


def test_the_command_line_reports_and_exits_by_the_result(tmp_path, capsys):
    right = write_workbook(tmp_path / "book.xlsx", (0.5,), steps=STEPS)
    assert main(["check-workbook", str(right)]) == 0
    assert capsys.readouterr().out.strip() == f"η = 0.5!A21:AF{20 + STEPS}, η = 0.5: all {STEPS} steps right"
    wrong, letters = write_table(tmp_path / "mine.xlsx", mistaken(bp.ORIGINAL_SHEET_GRADIENTS), 0.5)
    assert main(["check-workbook", str(wrong)]) == 1
    out = capsys.readouterr().out
    assert f"first mistake: ∂E/∂w3 at mine!{letters['∂E/∂w3']}5 (step 1) is " in out
    assert "uses a_h1 where a_h2 is needed" in out and f"also at step 1: ∂E/∂w4 at mine!{letters['∂E/∂w4']}5" in out


@pytest.mark.parametrize("side_by_side", [False, True], ids=["stacked", "side-by-side"])
def test_several_learning_rates_on_one_sheet_are_each_checked(tmp_path, side_by_side):
    rates = (0.5, 2.0)
    frames = [bp.iterate(bp.CLASS_VALUES, rates[0], STEPS), mistaken({w5: -bp.CHAIN_RULE[w5]}, rates[1])]
    workbook = openpyxl.Workbook()
    ws = workbook.active
    for k, (rate, frame) in enumerate(zip(rates, frames)):
        top, left = (1, 1 + k * (len(bp.COLUMNS) + 2)) if side_by_side else (1 + k * (STEPS + 4), 1)
        ws.cell(row=top, column=left, value="learning rate")
        ws.cell(row=top, column=left + 1, value=rate)
        for j, column in enumerate(bp.COLUMNS):
            ws.cell(row=top + 1, column=left + j, value=column)
            for step, value in enumerate(frame[column], start=1):
                ws.cell(row=top + 1 + step, column=left + j, value=float(value))
    workbook.save(tmp_path / "two.xlsx")
    result = wc.check_workbook(tmp_path / "two.xlsx")
    assert [(t.learning_rate, t.ok) for t in result.tables] == [(0.5, True), (2.0, False)]
    assert (result.first.quantity, result.first.cause) == ("∂E/∂w5", wc.Cause(wc.SIGN))


def test_a_wrong_forward_pass_is_found_where_it_starts(tmp_path):
    frame = bp.iterate(bp.CLASS_VALUES, 0.5, STEPS)
    frame["h1"] = frame["w1"] * frame["i1"] + frame["w2"] * frame["i1"]  # i1 typed twice
    path, letters = write_table(tmp_path / "mine.xlsx", frame, 0.5, shuffle=9, rename=True)
    first = wc.check_workbook(path).first
    assert (first.quantity, first.cell, first.cause) == (
        "h1", f"mine!{letters['h1']}5", wc.Cause(wc.WRONG_UNIT, used="i1", needed="i2"))
    assert first.expected == pytest.approx(bp.forward_pass(bp.CLASS_VALUES)["h1"], rel=1e-12)
