"""A class's records: 120 students' runs counted, every broken or foreign file listed and left out."""

import copy
import json
import random

import numpy as np
import pytest
from PIL import Image

from s6lib.__main__ import main
from s6lib.analysis.class_report import FIGURES, read_class, write_figures
from s6lib.lab.records import fingerprint, validate
from s6lib.mnist.goals import LAST, TARGET

from conftest import ROOT

RUNS = ROOT / "book" / "runs"
SOURCE = RUNS / "cpu" / "fast-s1.json"  # a real record of the fast recipe
STUDENTS = 120


def student_record(seed: int, accuracies: list[float]) -> dict:
    """SOURCE as if trained with `seed`: its last epochs' test accuracies replaced, the misclassified
    list as long as the final accuracy says, the config's fingerprint remade."""
    record = copy.deepcopy(json.loads(SOURCE.read_text()))
    record["config"]["seed"] = seed
    record["config_fingerprint"] = fingerprint(record["config"])
    for row, accuracy in zip(record["epochs"][-len(accuracies):], accuracies):
        row["test_acc"] = accuracy
    wrong = round((100 - accuracies[-1]) * 100)
    record["misclassified"] = [[index, (index % 9) + 1] for index in range(wrong)]
    return validate(record)


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    rng = random.Random(26)
    finals = {}
    for seed in range(1000, 1000 + STUDENTS):
        last = [round(rng.gauss(99.45, 0.07), 2) for _ in range(LAST)]
        finals[seed] = last
        (folder / f"student-{seed}.json").write_text(json.dumps(student_record(seed, last)))
    finals[1000 + STUDENTS - 1][-1] = TARGET  # exactly at the bar counts as at or above it
    (folder / f"student-{1000 + STUDENTS - 1}.json").write_text(
        json.dumps(student_record(1000 + STUDENTS - 1, finals[1000 + STUDENTS - 1])))

    good = student_record(7, [99.5, 99.5, 99.5])
    broken = folder / "broken"
    broken.mkdir()

    def changed(edit, fingerprinted=True):
        record = copy.deepcopy(good)
        edit(record)
        if fingerprinted:
            record["config_fingerprint"] = fingerprint(record["config"])
        return json.dumps(record)

    def unfinished(r):
        r["status"], r["epochs"], r["finished_utc"] = "running", r["epochs"][:5], None

    def fewer_epochs(r):
        r["config"]["recipe"]["epochs"], r["epochs"] = 10, r["epochs"][:10]

    other_recipe = next(p for p in sorted((RUNS / "cpu").glob("*.json"))
                        if json.loads(p.read_text())["config"]["recipe"]["name"] != "fast")
    files = {
        "not-json.json": ("{oops", "not a JSON file"),
        "empty.json": ("", "not a JSON file"),
        "truncated.json": (json.dumps(good)[:5000], "not a JSON file"),
        "list.json": ("[]", "field '<top>': expected a JSON object"),
        "bench.json": (next((RUNS / "bench").glob("*.json")).read_text(), "a benchmark record, not a run record"),
        "other-recipe.json": (other_recipe.read_text(), "not 'fast'"),
        "unfinished.json": (changed(unfinished), "not finished: status 'running' after 5 of 15 epochs"),
        "future-schema.json": (changed(lambda r: r.update(schema_version=99)), "field 'schema_version'"),
        "seed-edited.json": (changed(lambda r: r["config"].update(seed=8), fingerprinted=False),
                             "does not match config"),
        "over-100.json": (changed(lambda r: r["epochs"][-1].update(test_acc=101.0)), "a percentage is in [0, 100]"),
        "fewer-epochs.json": (changed(fewer_epochs), "the fast recipe changed: epochs 10 (fast: 15)"),
        "dry-run.json": (changed(lambda r: r["config"].update(dry_run=True)), "not a full run"),
    }
    for name, (text, _) in files.items():
        (broken / name).write_text(text)
    reasons = {f"broken/{name}": reason for name, (_, reason) in files.items()}
    (folder / "student-1000_copy.json").write_text((folder / "student-1000.json").read_text())  # read after it
    reasons["student-1000_copy.json"] = "seed 1000 again: counted once already, from student-1000.json"
    return folder, finals, reasons


def test_the_valid_records_are_counted_and_the_broken_ones_listed_with_their_reasons(classroom):
    folder, finals, reasons = classroom
    report = read_class(folder)
    assert sorted(report.students["seed"]) == sorted(finals)
    assert {r.file for r in report.rejected} == set(reasons)
    for rejected in report.rejected:
        assert reasons[rejected.file] in rejected.reason, rejected
    final = np.array([last[-1] for last in finals.values()])
    summary = report.summary["value"]
    assert summary["records counted"] == STUDENTS and summary["records left out"] == len(reasons)
    assert summary[f"at or above {TARGET:g}%"] == int((final >= TARGET).sum()) > 0
    assert summary[f"share at or above {TARGET:g}% (%)"] == pytest.approx(100 * (final >= TARGET).mean())
    assert summary["final test acc: mean (%)"] == pytest.approx(final.mean())
    assert summary["final test acc: sd (points)"] == pytest.approx(final.std(ddof=1))
    ranges = [max(last) - min(last) for last in finals.values()]
    assert summary[f"last {LAST} epochs: mean range (points)"] == pytest.approx(np.mean(ranges))
    assert summary[f"all last {LAST} epochs at or above {TARGET:g}%"] == sum(
        min(last) >= TARGET for last in finals.values())
    assert summary["the original's single run (%)"] == 99.40


def test_the_figures_are_written(classroom, tmp_path):
    paths = write_figures(read_class(classroom[0]), tmp_path)
    assert sorted(p.name for p in paths) == sorted(FIGURES.values())
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG" and min(image.size) > 300


def test_the_command_prints_the_table_and_the_files_left_out(classroom, tmp_path, capsys):
    folder, finals, reasons = classroom
    assert main(["class-report", str(folder), "--out-dir", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert f"records counted{' ' * 10}" in out and f" {STUDENTS}\n" in out
    for name in reasons:
        assert f"left out: {name}: " in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(FIGURES.values())
    assert main(["class-report", str(folder / "broken"), "--out-dir", str(tmp_path / "none")]) == 2
    assert "error: no record in" in capsys.readouterr().err
    assert main(["class-report", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err
