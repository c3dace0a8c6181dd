"""The student edition (`make student`, tools/student_edition.py): no solution text, no answer value
and no finished workbook of the full edition anywhere in its files, and its chapters intact."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from html import unescape
from pathlib import Path

import openpyxl
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import student_edition  # noqa: E402
import sync_notebooks  # noqa: E402


def markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)}


def code(text: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": text.splitlines(keepends=True)}


START = "````{solution-start} ex-a\n:class: dropdown\n````\n"
END = "````{solution-end}\n````\n"


def texts(nb: dict) -> list[str]:
    return ["".join(cell["source"]) for cell in nb["cells"]]


def test_gated_solutions_go_and_everything_else_stays():
    nb = {"cells": [markdown("```{exercise} A\n:label: ex-a\nDo it.\n```"), code("answer_box(1.5)"),
                    markdown(START), code("print('worked')"), markdown("The reason.\n\n" + END),
                    markdown("## Next section\n"),
                    markdown("Lead-in.\n\n" + START + "Inline solution.\n" + END + "After it.\n")],
          "metadata": {}}
    assert texts(student_edition.without_solutions(nb)) == [
        "```{exercise} A\n:label: ex-a\nDo it.\n```", "answer_box(1.5)", "## Next section\n", "Lead-in.\n\nAfter it.\n"]


@pytest.mark.parametrize("cells, message", [
    ([markdown(START), code("x = 1")], "has no solution-end"),
    ([markdown(END)], "ends a solution that no cell started"),
    ([markdown(START), markdown(START)], "inside another")])
def test_unmatched_gates_are_errors_not_a_hidden_chapter(cells, message):
    with pytest.raises(ValueError, match=message):
        student_edition.without_solutions({"cells": cells, "metadata": {}}, "book/x.ipynb")


def test_every_chapter_has_matched_gates_and_loses_only_solutions():
    for path in sync_notebooks.chapter_notebooks():
        nb = json.loads(path.read_text())
        student = student_edition.without_solutions(nb, path)
        starts = sum("{solution-start}" in text for text in texts(nb))
        assert not any("{solution-" in text for text in texts(student)), path
        assert len(student["cells"]) < len(nb["cells"]) or starts == 0, path
        exercise = re.compile(r"\{exercise(?:-start)?\}.*\n:label: .*")
        assert exercise.findall("\n".join(texts(student))) == exercise.findall("\n".join(texts(nb))), path


def test_student_set_up_cell_names_the_edition_and_the_branch():
    source = student_edition.student_setup_source("https://github.com/a/b", "student")
    namespace: dict = {}
    exec(source.replace('if importlib.util.find_spec("s6lib") is None:', "if False:"), namespace)
    assert namespace["os"].environ["S6_EDITION"] == "student"
    assert "https://github.com/a/b@student" in source
    namespace["os"].environ.pop("S6_EDITION")


def test_student_config_and_toc():
    config = {"title": "T", "repository": {"url": "u", "branch": "main"}, "student_edition": {"leave_out": ["b/x"]}}
    assert student_edition.student_config(config, "student") == {
        "title": "T" + student_edition.TITLE_MARK, "repository": {"url": "u", "branch": "student"}}
    toc = {"root": "b/intro", "parts": [{"caption": "P", "chapters": [{"file": "b/a"}, {"file": "b/x"}]},
                                        {"caption": "Q", "chapters": [{"file": "b/x"}]}]}
    assert student_edition.student_toc(toc, {"b/x"}) == {
        "root": "b/intro", "parts": [{"caption": "P", "chapters": [{"file": "b/a"}]}]}


def test_starter_workbook_has_the_inputs_and_nothing_to_copy(tmp_path):
    from s6lib.backprop import excel
    from s6lib.backprop import network as bp

    path = excel.write_workbook(tmp_path / "starter.xlsx", [0.5], starter=True)
    sheet = openpyxl.load_workbook(path)[excel.sheet_title(0.5)]
    first = excel.HEADER_ROW + 1
    for name in excel.FIRST_ROW_INPUTS:
        assert sheet[f"{excel.column_letter(name)}{first}"].value == bp.CLASS_VALUES[name]
    computed = set(bp.COLUMNS) - set(excel.FIRST_ROW_INPUTS)
    filled = [(c, r) for c in computed for r in range(first, first + 5)
              if sheet[f"{excel.column_letter(c)}{r}"].value is not None]
    assert filled == []
    with zipfile.ZipFile(path) as archive:
        assert not any("<f>" in archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets"))


# The built editions, compared -------------------------------------------------------------------

def page_text(html: str) -> str:
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return " ".join(unescape(re.sub(r"(?s)<[^>]+>", " ", html)).split())


SOLUTION_DIV = re.compile(r'(?s)<div class="solution\b[^"]*"[^>]*>(.*?)</section>\s*</div>')


def solution_fragments(site: Path) -> set[str]:
    """Every sentence-long piece of the full edition's solutions that the rest of it does not say."""
    inside, outside = [], []
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        inside += [page_text(m) for m in SOLUTION_DIV.findall(html)]
        outside.append(page_text(SOLUTION_DIV.sub(" ", html)))
    elsewhere = " ".join(outside)
    pieces = {p.strip() for text in inside for p in re.split(r"(?<=[.;:!?])\s+|\\\\", text)}
    return {p for p in pieces if len(p) >= 30 and p not in elsewhere}


def every_file_as_text(folder: Path) -> dict[Path, str]:
    out = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".html":
            out[path] = page_text(path.read_text(encoding="utf-8"))
        elif path.suffix in (".xlsx", ".zip"):
            with zipfile.ZipFile(path) as archive:
                out[path] = " ".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
        elif path.suffix in (".ipynb", ".js", ".txt", ".md", ".py", ".json", ".yml", ".csv", ".svg"):
            text = path.read_text(encoding="utf-8", errors="replace")
            out[path] = " ".join(unescape(text).split())
    return out


@pytest.fixture(scope="module")
def student_site(tmp_path_factory, built_site):
    out = tmp_path_factory.mktemp("student")
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "student_edition.py"), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"the student edition's build failed:\n{(result.stdout + result.stderr)[-6000:]}")
    return out


@pytest.mark.slow
def test_no_solution_text_of_the_full_edition_is_in_the_student_edition(built_site, student_site):
    fragments = solution_fragments(built_site)
    assert len(fragments) > 20  # the full edition's solutions were found
    files = every_file_as_text(student_site)
    found = [(str(path.relative_to(student_site)), fragment[:60])
             for path, text in files.items() for fragment in fragments if fragment in text]
    assert found == []
    assert not any('class="solution' in p.read_text(encoding="utf-8") for p in student_site.rglob("*.html"))


@pytest.mark.slow
def test_no_answer_value_of_the_full_edition_is_in_the_student_edition(built_site, student_site):
    """An answer may be one of the numbers the exercise itself shows (the data it asks about) or a
    field of a record the student reads; it leaks where the student edition says it more often than
    the full edition does outside its solutions and answer boxes, or where a file was rewritten."""
    answers = {unescape(v) for page in built_site.rglob("*.html")
               for v in re.findall(r'data-answer="([^"]+)"', page.read_text(encoding="utf-8"))}
    assert len(answers) > 20  # every answer box of the full edition
    digits = {a for a in answers if len(a.strip("-0.").replace(".", "")) >= 4}  # distinctive as digits
    found = []
    for path, text in every_file_as_text(student_site).items():
        relative = path.relative_to(student_site)
        if relative.parts[0] == "html" and path.suffix == ".html":
            full = built_site / Path(*relative.parts[1:])
            public = page_text(SOLUTION_DIV.sub(" ", full.read_text(encoding="utf-8"))) if full.exists() else ""
        elif relative.parts[0] == "source" and (ROOT / Path(*relative.parts[1:])).is_file() \
                and (ROOT / Path(*relative.parts[1:])).read_bytes() == path.read_bytes():
            continue  # the repository's own file, unchanged: a record or a page's data
        else:
            public = ""
        found += [(str(relative), value) for value in digits if text.count(value) > public.count(value)]
    assert found == []
    assert not any("data-answer=" in p.read_text(encoding="utf-8", errors="replace")
                   for p in student_site.rglob("*") if p.is_file() and p.suffix in (".html", ".ipynb"))


@pytest.mark.slow
def test_the_student_workbook_is_the_starter(student_site):
    from s6lib.backprop import excel

    books = list((student_site / "html").rglob("backprop_by_hand.xlsx"))
    assert books, "the student site offers a workbook"
    for book in books:
        sheet = openpyxl.load_workbook(book).worksheets[0]
        first = excel.HEADER_ROW + 1
        assert sheet[f"{excel.column_letter('E_total')}{first}"].value is None
        assert sheet[f"{excel.column_letter('w1')}{first}"].value is not None
