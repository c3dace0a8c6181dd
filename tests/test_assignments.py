"""The self-grading assignments (assignments/, otter-grader): `otter assign` builds each master
notebook into a student notebook and an autograder; the student notebook, filled in three ways
(correct, partly wrong, empty), is graded by `otter run` without Docker, and each gets the score
per question it must. The hidden references are checked against s6lib, and the student notebooks
against leaking them."""

from __future__ import annotations

import copy
import csv
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from s6lib.backprop import network as bp
from s6lib.mnist.models import Net6
from s6lib.mnist.receptive_field import last_conv_rf

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ROOT / "assignments"
sys.path[:0] = [str(ASSIGNMENTS / "backprop"), str(ASSIGNMENTS / "small_net")]

import backprop_grading  # noqa: E402
import small_net_grading  # noqa: E402
from small_net_grading import GradingError  # noqa: E402

ANSWER_TAG, SOLUTION_TAG = "otter_answer_cell", "otter_assign_solution_cell"


# --- Building, filling in and grading ----------------------------------------------------------


def otter(*args: str, cwd: Path, data_root: Path | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(ROOT)} | ({"S6_DATA_DIR": str(data_root)} if data_root else {})
    result = subprocess.run([sys.executable, "-m", "otter", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


class Built:
    """One assignment after `otter assign`: its student notebook, autograder notebook and zip."""

    def __init__(self, name: str, out: Path):
        otter("assign", f"{name}.ipynb", str(out), cwd=ASSIGNMENTS / name)
        self.name = name
        self.student = nbformat.read(out / "student" / f"{name}.ipynb", as_version=4)
        self.autograder = nbformat.read(out / "autograder" / f"{name}.ipynb", as_version=4)
        (self.zip,) = (out / "autograder").glob(f"{name}-autograder_*.zip")

    def solutions(self) -> list[str]:
        """The master's answer to each answer cell, in order."""
        return [cell.source for cell in self.autograder.cells if SOLUTION_TAG in cell.metadata.get("tags", [])]

    def filled(self, answers: list[str]) -> nbformat.NotebookNode:
        """The student notebook with its answer cells replaced by `answers`, in order."""
        notebook = copy.deepcopy(self.student)
        cells = [cell for cell in notebook.cells if ANSWER_TAG in cell.metadata.get("tags", [])]
        assert len(cells) == len(answers)
        for cell, answer in zip(cells, answers):
            cell.source = answer
        return notebook

    def submission(self, notebook: nbformat.NotebookNode, path: Path, files: dict[str, Path] | None = None) -> Path:
        """`path` (.ipynb or .zip) holding the notebook, with `files` beside it in a zip as the export
        cell writes them."""
        if path.suffix == ".ipynb":
            nbformat.write(notebook, path)
            return path
        with zipfile.ZipFile(path, "w") as zipped:
            zipped.writestr(f"{self.name}.ipynb", nbformat.writes(notebook))
            for name, file in (files or {}).items():
                zipped.write(file, name)
        return path

    def grade(self, notebook: nbformat.NotebookNode, folder: Path, files: dict[str, Path] | None = None,
              data_root: Path | None = None) -> dict[str, float]:
        """`otter run` on one submission: each question's score."""
        folder.mkdir()
        submission = self.submission(notebook, folder / ("submission.zip" if files else f"{self.name}.ipynb"), files)
        otter("run", "-a", str(self.zip), "-o", str(folder), "--no-logo", str(submission), cwd=folder,
              data_root=data_root)
        results = json.loads((folder / "results.json").read_text())
        return {test["name"]: test["score"] for test in results["tests"] if "score" in test}


def replaced(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} is not once in the answer"
    return text.replace(old, new)


@pytest.fixture(scope="module")
def backprop_built(tmp_path_factory) -> Built:
    return Built("backprop", tmp_path_factory.mktemp("backprop") / "dist")


@pytest.fixture(scope="module")
def small_net_built(tmp_path_factory) -> Built:
    return Built("small_net", tmp_path_factory.mktemp("small_net") / "dist")


# --- Backprop by hand ----------------------------------------------------------------------------


@pytest.mark.slow
def test_backprop_scores(backprop_built, tmp_path):
    """Graded as a class with assignments/grade_all.py: a correct, a partly wrong and an empty
    submission, and a zip that is none."""
    built, folder = backprop_built, tmp_path / "submissions"
    folder.mkdir()
    correct = built.solutions()
    built.submission(built.filled(correct), folder / "correct.zip")
    # The original sheet's error: ∂E/∂w3 and ∂E/∂w4 through h1's slope instead of h2's; the
    # update and the loss after it inherit it.
    wrong = list(correct)
    wrong[2] = replaced(wrong[2], "delta_h2 * i1, delta_h2 * i2",
                        "(delta_o1 * w6 + delta_o2 * w8) * a_h1 * (1 - a_h1) * i1,"
                        " (delta_o1 * w6 + delta_o2 * w8) * a_h1 * (1 - a_h1) * i2")
    built.submission(built.filled(wrong), folder / "partly-wrong.ipynb")
    built.submission(built.student, folder / "empty.ipynb")
    (folder / "not-a.zip").write_text("a file that is not a zip")

    result = subprocess.run([sys.executable, str(ASSIGNMENTS / "grade_all.py"), str(built.zip), str(folder),
                             str(tmp_path / "grades.csv")], env=os.environ | {"PYTHONPATH": str(ROOT)},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("4 submissions graded into " + str(tmp_path / "grades.csv")
                                          + "; 1 could not be graded")
    with (tmp_path / "grades.csv").open() as file:
        rows = {row.pop("submission"): row for row in csv.DictReader(file)}
    columns = ["total", "possible", "forward", "deltas", "gradients", "update", "error"]
    assert rows == {
        "correct.zip": dict(zip(columns, ["10", "10", "3", "2", "3", "2", ""])),
        "empty.ipynb": dict(zip(columns, ["0", "10", "0", "0", "0", "0", ""])),
        "not-a.zip": dict(zip(columns, [""] * 6 + ["BadZipFile: File is not a zip file"])),
        "partly-wrong.ipynb": dict(zip(columns, ["7", "10", "3", "2", "2", "0", ""])),
    }


def test_grade_all_refuses_bad_arguments(tmp_path):
    script = [sys.executable, str(ASSIGNMENTS / "grade_all.py")]
    (tmp_path / "grader.zip").write_text("not a zip")
    result = subprocess.run([*script, str(tmp_path / "grader.zip"), str(tmp_path), "out.csv"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "is not an autograder zip" in result.stderr and "Traceback" not in result.stderr
    with zipfile.ZipFile(tmp_path / "autograder.zip", "w") as zipped:
        zipped.writestr("otter_config.json", "{}")
    result = subprocess.run([*script, str(tmp_path / "autograder.zip"), str(tmp_path / "missing"), "out.csv"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "is not a folder" in result.stderr and "Traceback" not in result.stderr


def test_backprop_reference_is_s6libs():
    """The hidden tests' NumPy reference is s6lib.backprop.network's SymPy-derived float64 step."""
    ours = backprop_grading.reference()
    first, second = (row for _, row in bp.iterate(backprop_grading.VALUES, backprop_grading.LEARNING_RATE,
                                                 steps=2).iterrows())
    for name in ("h1", "a_h1", "h2", "a_h2", "o1", "a_o1", "o2", "a_o2", "E_total"):
        assert ours[name] == pytest.approx(first[name], rel=1e-12)
    np.testing.assert_allclose(ours["gradients"], [first[c] for c in bp.GRADIENT_COLUMNS], rtol=1e-12)
    np.testing.assert_allclose(ours["new_weights"], [second[w] for w in bp.WEIGHT_NAMES], rtol=1e-12)
    assert ours["E_total_after"] == pytest.approx(second["E_total"], rel=1e-12)
    # the deltas, from s6lib's chain-rule forms: ∂E/∂w5 = δo1·a_h1, ∂E/∂w1 = δh1·i1, ...
    assert ours["delta_o1"] * ours["a_h1"] == pytest.approx(first["∂E/∂w5"], rel=1e-12)
    assert ours["delta_o2"] * ours["a_h2"] == pytest.approx(first["∂E/∂w8"], rel=1e-12)
    assert ours["delta_h1"] * backprop_grading.VALUES["i1"] == pytest.approx(first["∂E/∂w1"], rel=1e-12)
    assert ours["delta_h2"] * backprop_grading.VALUES["i2"] == pytest.approx(first["∂E/∂w4"], rel=1e-12)


def test_backprop_reference_catches_the_original_sheets_error():
    """The tolerance separates the right ∂E/∂w3, ∂E/∂w4 from the original sheet's formulas."""
    sheet = bp.iterate(backprop_grading.VALUES, backprop_grading.LEARNING_RATE, steps=2,
                       gradients=bp.ORIGINAL_SHEET_GRADIENTS)
    gradients = np.array([sheet.loc[1, c] for c in bp.GRADIENT_COLUMNS])
    assert backprop_grading.agrees(gradients, "gradients", index=slice(0, 2))
    assert not backprop_grading.agrees(gradients, "gradients", index=slice(2, 4))
    assert not backprop_grading.agrees(sheet.loc[2, "E_total"], "E_total_after")


def master_setup(name: str) -> dict:
    """The variables of a master notebook's set-up cell (the one that imports NumPy)."""
    notebook = nbformat.read(ASSIGNMENTS / name / f"{name}.ipynb", as_version=4)
    namespace: dict = {}
    exec(next(cell.source for cell in notebook.cells if "import numpy as np" in cell.source), namespace)
    return namespace


def test_backprop_notebook_numbers_are_the_references():
    setup = master_setup("backprop")
    assert {name: setup[name] for name in backprop_grading.VALUES} == backprop_grading.VALUES
    assert setup["eta"] == backprop_grading.LEARNING_RATE
    for book in (bp.CLASS_VALUES, bp.MAZUR_VALUES):
        same = [name for name in backprop_grading.VALUES if backprop_grading.VALUES[name] == book[name]]
        assert len(same) <= 1, f"the book's numbers: {same}"


@pytest.mark.slow
def test_student_notebooks_hold_no_answers(backprop_built, small_net_built):
    """No reference value (as Python prints it, or to 4-6 significant digits), no solution line and no
    hidden test is in a student notebook."""
    text = nbformat.writes(backprop_built.student)
    values = [float(v) for value in backprop_grading.reference().values() for v in np.atleast_1d(value)]
    given = set(backprop_grading.VALUES.values()) | {backprop_grading.LEARNING_RATE}
    for value in (v for v in values if v not in given):
        for shown in {repr(value), *(f"{value:.{digits}g}" for digits in (4, 5, 6))}:
            assert shown not in text, f"{shown} (a reference value) is in the student notebook"
    for built in (backprop_built, small_net_built):
        text = nbformat.writes(built.student)
        assert "_grading" not in text and "HIDDEN" not in text
        for solution in built.solutions():
            for line in solution.splitlines():
                if "SOLUTION" in line and "=" in line:
                    assert line.split("#")[0].strip() not in text, f"{line!r} is in the student notebook"
    assert "F.max_pool2d(x, 2)" not in nbformat.writes(small_net_built.student)


# --- A network under 20,000 parameters ---------------------------------------------------------

# A design of the student's own (padding, pooling modules, a mean over the map), trained briefly
# by the notebook's own training cell, with the receptive field added up without the jumps.
OWN_DESIGN = '''class StudentNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(8), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(2),
            nn.Conv2d(16, 10, 3))

    def forward(self, x):
        return F.log_softmax(self.features(x).mean(dim=(2, 3)), dim=1)
'''
OWN_DESIGN_RF_BY_THE_RULE, OWN_DESIGN_RF_WITHOUT_JUMPS = 18, 7


def notebook_training(built: Built, design: str, folder: Path, monkeypatch, **train_args) -> None:
    """Run the student notebook's set-up and training cells with `design`, in `folder` (where they
    write record.json and checkpoint.pt)."""
    cells = [cell.source for cell in built.student.cells if cell.cell_type == "code"]
    setup = next(source for source in cells if "MEAN, STD =" in source)
    training = next(source for source in cells if "def train(" in source)
    folder.mkdir()
    monkeypatch.chdir(folder)
    namespace: dict = {}
    exec("\n\n".join([setup, design, training]), namespace)
    namespace["train"](namespace["StudentNet"](), **train_args)


@pytest.mark.slow
def test_small_net_scores(small_net_built, mnist_root, one_thread, tmp_path, monkeypatch):
    built = small_net_built
    # Correct: Net6 (the master's answer) with the book's committed fast-recipe checkpoint and record.
    checkpoint = torch.load(ROOT / "book/model/fast-s1.pt", map_location="cpu", weights_only=True)
    torch.save({k.removeprefix("layers."): v for k, v in checkpoint["state_dict"].items()}, tmp_path / "net6.pt")
    files = {"record.json": ROOT / "book/model/fast-s1.json", "checkpoint.pt": tmp_path / "net6.pt"}
    assert built.grade(built.filled(built.solutions()), tmp_path / "correct", files, mnist_root) == {
        "design": 3, "receptive_field": 2, "training_run": 5}

    # Partly wrong: an own design under 20k, its receptive field without the jumps, and a run of one
    # epoch on 512 images: its record is honest, its accuracy far below 99 %.
    monkeypatch.setenv("S6_DATA_DIR", str(mnist_root))
    notebook_training(built, OWN_DESIGN, tmp_path / "run", monkeypatch, epochs=1, limit=512)
    files = {name: tmp_path / "run" / name for name in ("record.json", "checkpoint.pt")}
    answers = [OWN_DESIGN, f"last_conv_receptive_field = {OWN_DESIGN_RF_WITHOUT_JUMPS}"]
    assert built.grade(built.filled(answers), tmp_path / "partly-wrong", files, mnist_root) == {
        "design": 3, "receptive_field": 1, "training_run": 3}

    assert built.grade(built.student, tmp_path / "empty", data_root=mnist_root) == {
        "design": 0, "receptive_field": 0, "training_run": 0}


def own_design():
    namespace = {"nn": nn, "F": F}
    exec(OWN_DESIGN, namespace)
    return namespace["StudentNet"]


def test_receptive_field_measured_is_the_rule():
    """Autograd's receptive field of the last convolution is the rule's: s6lib's for Net6 (whose
    pools are F.max_pool2d calls), the hand count for a design with padding and pooling modules."""
    net6 = small_net_grading.receptive_field(Net6)
    assert net6["size"] == last_conv_rf("net6") and net6["whole_image"]
    assert small_net_grading.receptive_field(own_design()) == {"size": OWN_DESIGN_RF_BY_THE_RULE,
                                                              "at_border": False, "whole_image": True}
    assert small_net_grading.receptive_field_agrees(own_design(), OWN_DESIGN_RF_BY_THE_RULE)
    assert not small_net_grading.receptive_field_agrees(own_design(), OWN_DESIGN_RF_WITHOUT_JUMPS)
    assert not small_net_grading.receptive_field_agrees(own_design(), float(OWN_DESIGN_RF_BY_THE_RULE))


def test_output_that_misses_pixels_is_caught():
    """A pool whose windows do not tile the map drops the image's last rows and columns."""

    class Cropping(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 10, 3)  # 28 -> 26, pooled by 4 to 6: rows 24 and 25 dropped

        def forward(self, x):
            return F.log_softmax(F.max_pool2d(self.conv(x), 4).mean(dim=(2, 3)), dim=1)

    assert not small_net_grading.receptive_field(Cropping)["whole_image"]


@pytest.mark.parametrize("content, reason", [
    ("not json", "is not JSON"),
    ('{"epochs": []}', 'has no "epochs" list'),
    ('{"epochs": [{"epoch": 2, "test_acc": 99.5}]}', "entry 1 of epochs is not epoch 1"),
    ('{"epochs": [{"epoch": 1, "test_acc": 0.995}, {"epoch": 2, "test_acc": 995}]}', "epoch 2 has no test accuracy"),
    ('{"epochs": [{"epoch": 1, "test_acc": true}]}', "epoch 1 has no test accuracy"),
])
def test_bad_record_is_named(tmp_path, content, reason):
    (tmp_path / "record.json").write_text(content)
    with pytest.raises(GradingError, match=re.escape(reason)):
        small_net_grading.read_record(tmp_path / "record.json")


def test_test_images_found_beside_the_submission(mnist_root, tmp_path, monkeypatch):
    """Without S6_DATA_DIR the grader reads ./data/MNIST/raw: where the autograder's `data` folder
    lands on Gradescope (beside the submission)."""
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in small_net_grading.TEST_FILES:
        (raw / name).symlink_to(mnist_root / "MNIST" / "raw" / name)
    monkeypatch.delenv("S6_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    small_net_grading.mnist_test_set.cache_clear()
    try:
        images, labels = small_net_grading.mnist_test_set()
    finally:
        small_net_grading.mnist_test_set.cache_clear()
    assert images.shape == (10_000, 1, 28, 28) and labels.shape == (10_000,)
    assert images.mean().abs() < 0.05 and sorted(labels.unique().tolist()) == list(range(10))
    (raw / small_net_grading.TEST_FILES[0]).unlink()
    with pytest.raises(GradingError, match="t10k-images-idx3-ubyte is not in data/MNIST/raw"):
        small_net_grading.mnist_test_set()


def test_book_record_is_read():
    accuracies = small_net_grading.read_record(ROOT / "book/model/fast-s1.json")
    record = json.loads((ROOT / "book/model/fast-s1.json").read_text())
    assert accuracies == [epoch["test_acc"] for epoch in record["epochs"]]


def test_bad_checkpoint_is_named(tmp_path):
    torch.save(own_design()().state_dict(), tmp_path / "other.pt")
    with pytest.raises(GradingError, match="does not fit the class"):
        small_net_grading.load_checkpoint(Net6, tmp_path / "other.pt")
    torch.save({"state_dict": Net6().state_dict()}, tmp_path / "wrapped.pt")
    with pytest.raises(GradingError, match="is not a state_dict"):
        small_net_grading.load_checkpoint(Net6, tmp_path / "wrapped.pt")
    (tmp_path / "text.pt").write_text("weights")
    with pytest.raises(GradingError, match="is not a torch checkpoint"):
        small_net_grading.load_checkpoint(Net6, tmp_path / "text.pt")
    with pytest.raises(GradingError, match="no checkpoint"):
        small_net_grading.load_checkpoint(Net6, tmp_path / "missing.pt")


def test_makefile_builds_every_assignment():
    """`make assignments` runs `otter assign` on every master notebook (assignments/NAME/NAME.ipynb)."""
    masters = sorted(p.parent.name for p in ASSIGNMENTS.glob("*/*.ipynb") if p.stem == p.parent.name)
    listed = re.search(r"^ASSIGNMENTS := (.*)$", (ROOT / "Makefile").read_text(), flags=re.M).group(1).split()
    assert masters == sorted(listed) == ["backprop", "small_net"]
    dry = subprocess.run(["make", "-n", "assignments"], cwd=ROOT, capture_output=True, text=True)
    assert "otter assign $name.ipynb" in dry.stdout and "_build/assignments/$name" in dry.stdout, dry.stdout


def test_readme_rubrics_are_the_notebooks_points():
    """Each rubric row of assignments/README.md gives the points the master notebook grades."""
    readme = (ASSIGNMENTS / "README.md").read_text()
    for name in ("backprop", "small_net"):
        notebook = nbformat.read(ASSIGNMENTS / name / f"{name}.ipynb", as_version=4)
        points = {}
        for cell in notebook.cells:
            if cell.cell_type == "raw" and cell.source.startswith("# BEGIN QUESTION"):
                config = yaml.safe_load(cell.source.split("\n", 1)[1])
                points[config["name"]] = sum(config["points"])
        rubric = readme.split(f"**`{name}`** ({sum(points.values())} points")[1].split("\n\n")[1]
        rows = dict(re.findall(r"^\| (\w+) \| (\d+) \|", rubric, flags=re.M))
        assert {question: int(n) for question, n in rows.items()} == points
