"""The answer box: what it accepts (Python's `Answer` and the page's own JavaScript, run in node), the
precision it states, its hints, and the student edition's form, which carries no answer digits."""

import hashlib
import html as html_text
import json
import math
import re
import shutil
import subprocess

import pytest

from s6lib.book.exercises import PARSER_JS, answer_box, canonical, tolerance_for

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node runs the page's JavaScript")


def run_js(expression: str):
    """Evaluate `expression` after the page's parser, in node; its value comes back through JSON."""
    program = PARSER_JS + f"\nprocess.stdout.write(JSON.stringify({expression}));"
    done = subprocess.run([NODE, "-e", program], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_an_answer_box_accepts_its_answer_to_the_stated_digits_and_nothing_further():
    box = answer_box(0.0128808, "∂E/∂w5 =", hint="h")
    assert box.tolerance == pytest.approx(5e-5) and box.precision == "3 significant digits"
    assert box.accepts(0.01288) and box.accepts(0.0129) and box.accepts(0.0128808) and not box.accepts(0.013)
    assert not box.accepts(-0.0128808)
    assert answer_box(250.0, "x", digits=2, hint="h").tolerance == pytest.approx(5.0)
    whole = answer_box(4704, "steps =", decimals=0, hint="h")
    assert whole.precision == "a whole number" and whole.accepts(4704) and not whole.accepts(4705)
    share = answer_box(99.35, "accuracy =", decimals=2, percent=True, hint="h")
    assert share.precision == "2 decimal places, in %" and share.accepts(99.35) and not share.accepts(99.36)


def test_a_likely_mistake_gets_its_own_hint_and_must_be_told_apart_at_the_stated_precision():
    box = answer_box(0.29837, "E =", digits=4, mistakes={0.29834 + 0.003: "you kept the inputs"}, hint="generic")
    assert box.hint_for(0.30134) == "you kept the inputs" and box.hint_for(0.5) == "generic"
    small = answer_box(8.96e-5, "E =", mistakes={0.0012113: "the page's own rate"}, hint="generic")
    assert small.hint_for(0.00121) == "the page's own rate", "a slip is known at its own significant digits"
    with pytest.raises(ValueError, match="cannot be told from the answer"):
        answer_box(0.298370, "E =", digits=3, mistakes={0.298337: "un-swapped"}, hint="generic")
    with pytest.raises(ValueError, match="needs a hint"):
        answer_box(0.5, "a =", hint=" ")
    with pytest.raises(ValueError, match="not both"):
        answer_box(0.5, "a =", digits=2, decimals=1, hint="h")


def test_the_box_is_a_form_that_names_its_precision_and_checks_in_the_page():
    html = answer_box(0.5, "a =", hint="look at the sign")._repr_html_()
    assert 'class="s6-answer"' in html and 'data-answer="0.5"' in html and "<script>" in html
    assert 'aria-live="polite"' in html and "<label" in html and "(3 significant digits)" in html
    assert "look at the sign" in html


@pytest.mark.parametrize("bad", [0.0, math.inf, math.nan])
def test_an_answer_that_cannot_be_checked_is_refused(bad):
    with pytest.raises(ValueError, match="finite, non-zero"):
        tolerance_for(bad)


@needs_node
@pytest.mark.parametrize("typed, percent_box, value", [
    ("4,704", False, 4704), ("17,022", False, 17022), ("1,234,567.5", False, 1234567.5),
    ("4 704", False, 4704), ("0,0129", False, 0.0129), ("12,5", False, 12.5), ("1.234,5", False, 1234.5),
    ("99.35%", True, 99.35), ("99.35", True, 99.35), ("50%", False, 0.5), ("1/4", False, 0.25),
    ("\u22120.0129", False, -0.0129), ("\u2013 3", False, -3), ("1.29e-2", False, 0.0129),
    ("1.29×10^-2", False, 0.0129), ("1.29·10⁻²", False, 0.0129), (".5", False, 0.5)])
def test_the_page_reads_numbers_as_people_write_them(typed, percent_box, value):
    read = run_js(f"s6Answers.parse({json.dumps(typed)}, {json.dumps(percent_box)})")
    assert read is not None and read["value"] == pytest.approx(value, rel=1e-12), (typed, read)


@needs_node
@pytest.mark.parametrize("typed", ["", "forty", "1/0", "1,2,3", "0x10", "Infinity", "1e", "--1", "1/2/3"])
def test_the_page_refuses_what_is_not_a_number(typed):
    assert run_js(f"s6Answers.parse({json.dumps(typed)}, false)") is None, typed


@needs_node
def test_the_page_rounds_and_hashes_exactly_as_python_does():
    cases = [(0.0128808, "digits", 3), (0.125, "digits", 2), (-0.125, "digits", 2), (9.996, "digits", 3),
             (4704.0, "decimals", 0), (2.5, "decimals", 0), (99.345, "decimals", 2), (-0.001, "decimals", 2),
             (1.5e-9, "digits", 2), (0.016, "decimals", 3), (776.806, "digits", 4)]
    theirs = run_js("[" + ",".join(f"s6Answers.canonical({v!r}, {k!r}, {p})" for v, k, p in cases) + "]")
    assert theirs == [canonical(v, k, p) for v, k, p in cases]
    texts = ["", "abc", "1.29e-2", "x" * 55, "y" * 64 + "z" * 70]
    hashes = run_js("[" + ",".join(f"s6Answers.sha256({json.dumps(t)})" for t in texts) + "]")
    assert hashes == [hashlib.sha256(t.encode()).hexdigest() for t in texts]


def box_data(box, edition):
    """The form's data attributes as the page's script reads them into `box`."""
    html = box.html(edition)
    attrs = {k: html_text.unescape(v) for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', html.split(">", 1)[0])}
    data = {"kind": attrs["kind"], "places": int(attrs["places"]), "percent": attrs["percent"] == "true",
            "accepted": json.loads(attrs["accepted"]),
            "mistakes": json.loads(attrs["mistakes"]), "hint": attrs["hint"]}
    if "hash" in attrs:
        data["hash"] = attrs["hash"]
    else:
        data |= {"answer": float(attrs["answer"]), "tol": float(attrs["tol"])}
    return data, html


@needs_node
@pytest.mark.parametrize("edition", ["full", "student"])
def test_both_editions_judge_alike_and_name_the_likely_mistake(edition):
    box = answer_box(4704, "steps =", decimals=0, mistakes={4710: "the last batch is dropped"},
                     hint="epochs × steps per epoch")
    data, _ = box_data(box, edition)
    verdicts = run_js("[" + ",".join(f"s6Answers.judge({json.dumps(t)}, {json.dumps(data)})"
                                      for t in ["4,704", "4704", "4710", "4,700", "x"]) + "]")
    assert [v["verdict"] for v in verdicts] == ["right", "right", "wrong", "wrong", "unreadable"]
    assert verdicts[2]["hint"] == "the last batch is dropped" and verdicts[3]["hint"] == "epochs × steps per epoch"
    p = answer_box(0.016, "smallest p =", decimals=3, hint="count the ways")
    data, _ = box_data(p, edition)
    said = run_js("[" + ",".join(f"s6Answers.judge({json.dumps(t)}, {json.dumps(data)})"
                                 for t in ["0.016", "0.0159", "0.02", "1/63"]) + "]")
    assert [v["verdict"] for v in said] == ["right", "right", "wrong", "right"]
    assert said[2]["short"], "a number with fewer decimals than asked is told so"
    either = answer_box(19, "updates =", decimals=0, accepted=[20], mistakes={78: "divide by η"}, hint="h")
    data, _ = box_data(either, edition)
    said = run_js("[" + ",".join(f"s6Answers.judge({json.dumps(t)}, {json.dumps(data)})"
                                 for t in ["19", "20", "78", "21"]) + "]")
    assert [v["verdict"] for v in said] == ["right", "right", "wrong", "wrong"] and said[2]["hint"] == "divide by η"
    assert [v.get("also") for v in said[:2]] == [False, True], "an accepted other value is not called the answer"
    small = answer_box(8.96e-5, "E =", mistakes={0.0012113: "the page's own rate"}, hint="generic")
    data, _ = box_data(small, edition)
    said = run_js(f"s6Answers.judge('0.00121', {json.dumps(data)})")
    assert said["hint"] == "the page's own rate", "a slip is known at its own significant digits"


def test_the_student_edition_carries_no_answer_digits(monkeypatch):
    monkeypatch.setenv("S6_EDITION", "student")
    for value, kwargs in [(0.0128808, {}), (4704, {"decimals": 0}), (99.3467, {"decimals": 2, "percent": True}),
                          (0.298371, {"digits": 4, "mistakes": {0.301371: "un-swapped"}})]:
        box = answer_box(value, "answer =", hint="look again", **kwargs)
        html = box._repr_html_()
        assert "data-answer" not in html and "data-tol" not in html
        without_hashes = re.sub(r"[0-9a-f]{64}", "", html.split("<script>")[0])
        for number in [box.value, *(v for v, _ in box.mistakes)]:
            digits = re.sub(r"\D", "", box.rounded(number).split("e")[0]).lstrip("0")
            assert digits not in without_hashes and repr(number) not in without_hashes, (number, without_hashes)
    monkeypatch.setenv("S6_EDITION", "teacher")
    with pytest.raises(ValueError, match="the editions are full, student"):
        answer_box(0.5, "a", hint="h")._repr_html_()
