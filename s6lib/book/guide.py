"""The instructor guide's tables that are not times (those are in run_times): each exercise's likely
slips with the numbers they give, and the rubric of an assignment as its README states it.

    from s6lib.book.guide import likely_slips, readme_rubric
    likely_slips(root)                         # exercise, box, chapter, answer, slip, slip's value
    readme_rubric(root, "backprop")            # question -> points, from assignments/README.md
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from ..backprop import answers as part1
from ..mnist import answers as part2

# The function each Part 2 answer box shows (its chapter calls it with these arguments); Part 1's
# answers are part1.answer(label).
PART2_ANSWERS = {
    "ex-net6-parameters": (part2.block_parameters, ()),
    "ex-net6-receptive-field": (part2.head_receptive_field, ()),
    "ex-net6-no-batchnorm": (part2.batchnorm_parameters, ("net6",)),
    "ex-training-targets": (part2.changed_target_gradient, ("w5",)),
    "ex-training-steps": (part2.total_steps, ("fast",)),
    "ex-training-one-cycle-peak": (part2.peak_step, ("fast",)),
    "ex-training-one-cycle-first": (part2.first_learning_rate, ("fast",)),
}


def exercise_chapters(root: Path) -> dict[str, str]:
    """{exercise label: the chapter (file, without suffix) that defines it}, from the notebooks under book/."""
    found = {}
    for path in sorted((root / "book").rglob("*.ipynb")):
        if "_build" in path.parts or ".ipynb_checkpoints" in path.parts:
            continue
        for cell in json.loads(path.read_text())["cells"]:
            for label in re.findall(r"^:label: (ex-[\w-]+)", "".join(cell["source"]), re.MULTILINE):
                found[label] = path.relative_to(root).with_suffix("").as_posix()
    return found


def _exercise_of(box: str, exercises: dict[str, str]) -> str:
    """The exercise an answer box belongs to: its label, or the longest exercise label it extends."""
    if box in exercises:
        return box
    owners = [label for label in exercises if box.startswith(label + "-")]
    return max(owners, key=len) if owners else box


def _answer(box: str) -> float:
    if box in part1.ANSWERS:
        return part1.answer(box)
    function, args = PART2_ANSWERS[box]
    return float(function(*args))


def likely_slips(root: Path) -> pd.DataFrame:
    """One row per likely slip of every answer box with slips (s6lib.backprop.answers' and
    s6lib.mnist.answers' LIKELY_MISTAKES): exercise, box (the box's label where an exercise has two), chapter, the right
    answer, the slip's name and the number it gives."""
    exercises = exercise_chapters(root)
    rows = []
    for module in (part1, part2):
        for box, slips in module.LIKELY_MISTAKES.items():
            exercise = _exercise_of(box, exercises)
            for slip in slips:
                rows.append({"exercise": exercise, "box": box, "chapter": exercises.get(exercise),
                             "answer": _answer(box), "slip": slip,
                             "slip's value": module.likely_mistake(box, slip)})
    return pd.DataFrame(rows, columns=["exercise", "box", "chapter", "answer", "slip", "slip's value"])


RUBRIC_HEADING = "## Rubrics"


def readme_rubric(root: Path, assignment: str) -> dict[str, int]:
    """{question: points} of `assignment` from the rubric table under its bold name in the
    "## Rubrics" section of assignments/README.md."""
    text = (root / "assignments" / "README.md").read_text(encoding="utf-8")
    section = text.split(RUBRIC_HEADING, 1)[1].split("\n## ", 1)[0]
    part = section.split(f"**`{assignment}`**", 1)[1].split("\n**`", 1)[0]
    rubric = {}
    for line in part.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[1].isdigit():
            rubric[cells[0]] = int(cells[1])
    return rubric
