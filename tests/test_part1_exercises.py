"""Every numeric answer of Part 1's exercises equals its recomputation without the library
(tests/part1_oracle.py). Also: every chapter has at least 3 exercises, each with a hidden solution,
and each answer box takes its number from the exercise it follows."""

import re

import pytest

from s6lib.backprop.answers import ANSWERS, answer

from part1_oracle import CHAPTERS, INDEPENDENT, cells


def test_every_answer_has_an_independent_computation():
    assert set(INDEPENDENT) == set(ANSWERS)


@pytest.mark.parametrize("label", sorted(ANSWERS))
def test_each_answer_equals_an_independent_computation(label):
    expected = INDEPENDENT[label]()
    tolerance = 1e-6 if label == "ex-learning-rates-limit" else 1e-12  # finite differences vs SymPy's Hessian
    assert answer(label) == pytest.approx(expected, rel=tolerance, abs=1e-15), label


def test_an_unknown_label_is_named():
    with pytest.raises(KeyError, match="no exercise 'ex-nope': the labels are ex-forward-pass"):
        answer("ex-nope")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_has_exercises_with_hidden_solutions_and_checked_boxes(chapter):
    labels, solved, current, boxes = [], set(), None, []
    for cell in cells(chapter):
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            for label in re.findall(r"`{3,}\{exercise(?:-start)?\}[^\n]*\n:label: (\S+)", text):
                labels.append(label)
                current = label
            for label in re.findall(r"\{solution(?:-start)?\} (\S+)\n:class: dropdown", text):
                solved.add(label)
        else:
            for label in re.findall(r'answer\("([^"]+)"\)', text):
                if "answer_box(" in text:
                    boxes.append(label)
                    assert label == current, f"{chapter}: the box for {label} follows exercise {current}"
                    assert "remove-input" in cell["metadata"].get("tags", []), f"{chapter}: box code shown"
    assert len(labels) >= 3, f"{chapter} has {len(labels)} exercises"
    assert all(label.startswith(f"ex-{chapter.replace('_', '-')}-") for label in labels), labels
    assert set(labels) <= solved, f"{chapter}: exercises without a hidden solution: {set(labels) - solved}"
    assert boxes, f"{chapter} has no numeric exercise with an answer box"
    assert set(boxes) <= set(ANSWERS)


def test_every_answer_is_used_by_its_chapter():
    used = {label for chapter in CHAPTERS for cell in cells(chapter)
            for label in re.findall(r'answer\("([^"]+)"\)', "".join(cell["source"]))}
    assert used == set(ANSWERS)
