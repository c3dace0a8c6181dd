"""A class's runs of one recipe: each student's record validated, the class's accuracies side by side.

    from s6lib.analysis.class_report import read_class, plot_class
    report = read_class("submissions/")      # every *.json in the folder (and below it)
    report.summary                           # the table the command prints (numbers)
    report.students, report.rejected         # one row per counted record; the files left out, and why
    plot_class(report)                       # the figures
    python -m s6lib class-report submissions/ --out-dir class-report/

Each student trains the same recipe (the fast one by default) with a seed of their own and hands in
the run record `python -m s6lib train` writes. A record is counted only when it validates
(s6lib.lab.records), is a complete run of that recipe exactly as s6lib defines it (no overrides, all
of MNIST, not a dry run) with the model s6lib builds for it, and its seed is not one counted
already; every other file is listed with the reason and left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..lab.records import RecordError, validate
from ..mnist.goals import LAST, TARGET
from ..mnist.recipes import get_recipe, recipe_config
from ..mnist.specs import get_spec, spec_to_dict
from .original import ORIGINAL_LOG

RECIPE = "fast"
DECIMALS = 2  # test accuracy on 10,000 images is a whole number of hundredths of a percent
FIGURES = {"final": "final-accuracies.png", "epochs": "last-epochs.png"}


@dataclass(frozen=True)
class Rejected:
    file: str  # relative to the folder read
    reason: str


@dataclass(frozen=True)
class ClassReport:
    folder: Path
    recipe: str
    students: pd.DataFrame  # one row per counted record (columns: STUDENT_COLUMNS), by final accuracy
    rejected: tuple[Rejected, ...]
    target: float  # the assignment's bar, in percent
    original: float  # the original assignment's single run, final test accuracy in percent

    @property
    def summary(self) -> pd.DataFrame:
        """The class in numbers: one row per quantity, its value in the column "value"."""
        final, spread = self.students["final test acc (%)"], self.students[f"last {LAST} range (points)"]
        at_target = int((final >= self.target).sum())
        rows = {
            "records counted": int(len(final)),
            "records left out": len(self.rejected),
            "final test acc: mean (%)": final.mean(),
            "final test acc: sd (points)": final.std(ddof=1) if len(final) > 1 else np.nan,
            "final test acc: min (%)": final.min(),
            "final test acc: median (%)": final.median(),
            "final test acc: max (%)": final.max(),
            f"at or above {self.target:g}%": at_target,
            f"share at or above {self.target:g}% (%)": 100 * at_target / len(final) if len(final) else np.nan,
            f"all last {LAST} epochs at or above {self.target:g}%": int(
                self.students[f"all last {LAST} ≥ target"].sum()),
            f"last {LAST} epochs: mean range (points)": spread.mean(),
            f"last {LAST} epochs: max range (points)": spread.max(),
            "the original's single run (%)": self.original,
        }
        return pd.DataFrame({"value": pd.Series(rows, dtype=object)}).rename_axis("quantity")

    def table(self) -> str:
        """`summary` as text: counts whole, percentages and points to 3 decimals."""
        values = self.summary["value"].map(lambda v: f"{v:,}" if isinstance(v, (int, np.integer)) else f"{v:.3f}")
        return values.to_frame().to_string()

    def __repr__(self) -> str:
        lines = [self.table()]
        lines += [f"left out: {r.file}: {r.reason}" for r in self.rejected]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython
        printer.text(repr(self))


def read_class(folder: str | Path, recipe: str = RECIPE, target: float = TARGET) -> ClassReport:
    """Read every .json under `folder`: the records of complete, unchanged runs of `recipe` are counted
    (one per seed), every other file is listed in `rejected` with the reason."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RecordError(f"{folder} is not a folder: give the folder that holds the students' run records")
    expected = recipe_config(get_recipe(recipe))
    rows, rejected, seeds = [], [], {}
    for path in sorted(folder.rglob("*.json")):
        name = path.relative_to(folder).as_posix()
        record, reason = _read(path, name)
        reason = reason or _foreign(record, recipe, expected)
        seed = record["config"]["seed"] if reason is None else None
        if seed in seeds:
            reason = f"seed {seed} again: counted once already, from {seeds[seed]}"
        if reason is not None:
            rejected.append(Rejected(name, reason))
            continue
        seeds[seed] = name
        rows.append(_student(name, record, target))
    students = pd.DataFrame(rows, columns=STUDENT_COLUMNS)
    students = students.sort_values(["final test acc (%)", "seed"], ascending=[False, True], ignore_index=True)
    return ClassReport(folder, recipe, students, tuple(rejected), target, ORIGINAL_LOG["final"]["test_acc"])


STUDENT_COLUMNS = ["file", "seed", "final test acc (%)", f"last {LAST} min (%)", f"last {LAST} max (%)",
                   f"last {LAST} range (points)", f"all last {LAST} ≥ target", "device", "minutes"]


def _read(path: Path, name: str) -> tuple[dict | None, str | None]:
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, f"not a JSON file ({type(err).__name__}: {err})"
    if isinstance(record, dict) and record.get("kind") == "bench":
        return None, "a benchmark record, not a run record"
    try:
        return validate(record, name), None
    except RecordError as err:
        return None, str(err).removeprefix(f"{name}: ")


def _foreign(record: dict, recipe: str, expected: dict) -> str | None:
    """Why a valid record is not a complete, unchanged run of `recipe` (None when it is one)."""
    config, ran = record["config"], record["config"]["recipe"]
    if ran.get("name") != expected["name"]:
        return f"recipe {ran.get('name')!r}, not {recipe!r}"
    if record["status"] != "complete":
        return f"not finished: status {record['status']!r} after {len(record['epochs'])} of {ran.get('epochs')} epochs"
    changed = [f"{key} {ran.get(key)!r} ({recipe}: {expected.get(key)!r})" for key in sorted(set(ran) | set(expected))
               if ran.get(key) != expected.get(key)]
    if changed:
        return f"the {recipe} recipe changed: " + "; ".join(changed)
    if config["dry_run"] or config["limit_train"] or config["limit_test"]:
        return "not a full run (a dry run, or trained or tested on part of MNIST)"
    try:
        spec = spec_to_dict(get_spec(record["model"]["name"]))
    except ValueError:
        spec = None
    if record["model"]["name"] != expected["model"] or record["model"]["spec"] != spec:
        return (f"model {record['model']['name']!r} is not the {recipe} recipe's {expected['model']!r} "
                "as s6lib builds it")
    return None


def _student(name: str, record: dict, target: float) -> dict:
    accuracies = np.round([row["test_acc"] for row in record["epochs"]], DECIMALS)
    last = accuracies[-LAST:]
    return dict(zip(STUDENT_COLUMNS, (
        name, record["config"]["seed"], accuracies[-1], last.min(), last.max(),
        round(last.max() - last.min(), DECIMALS), bool((last >= target).all()), record["environment"]["device_name"],
        (record["seconds"] or sum(row["seconds"] for row in record["epochs"])) / 60)))


def plot_class(report: ClassReport):
    """Two figures: the class's final test accuracies (the target and the original's run marked), and each
    student's last epochs (the range from epoch to epoch). Returns {"final": fig, "epochs": fig}."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from ..book import style

    with style.figures():
        students = report.students
        final = students["final test acc (%)"].to_numpy()
        step = 10.0 ** -DECIMALS * 5  # one bar per 0.05 points
        low = min(final.min(initial=report.original), report.original) - step
        high = max(final.max(initial=report.original), report.target) + step
        bins = np.round(np.arange(np.floor(low / step) * step, high + step, step), DECIMALS)  # edges on the hundredths

        fig_final, ax = plt.subplots(figsize=(style.WIDTH, style.WIDTH * 0.6))
        ax.hist(final, bins=bins, color="#4C72B0", edgecolor="white")
        ax.axvline(report.original, color="#C44E52", linestyle="--",
                   label=f"original's single run ({report.original:.2f}%)")
        ax.axvspan(report.target, bins[-1], color="#55A868", alpha=0.12, label=f"≥ {report.target:g}%")
        ax.set_xlabel("final test accuracy (%)")
        ax.set_ylabel("students")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False)

        fig_epochs, ax = plt.subplots(figsize=(style.WIDTH, style.WIDTH * 0.6))
        order = np.arange(len(students))
        low_col, high_col = f"last {LAST} min (%)", f"last {LAST} max (%)"
        ax.vlines(order, students[low_col], students[high_col], color="#4C72B0", linewidth=1.5,
                  label=f"last {LAST} epochs, lowest to highest")
        ax.plot(order, final, "o", markersize=2.5, color="#1f1f1f", label="final epoch")
        ax.axhline(report.target, color="#55A868", linestyle="-", label=f"{report.target:g}%")
        ax.set_xlabel("students, by final accuracy")
        ax.set_ylabel("test accuracy (%)")
        ax.set_xticks([])
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
        return {"final": fig_final, "epochs": fig_epochs}


def write_figures(report: ClassReport, out_dir: str | Path) -> list[Path]:
    """plot_class's figures as PNG files in `out_dir` (FIGURES names them)."""
    import matplotlib.pyplot as plt

    from ..book import style

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for key, fig in plot_class(report).items():
        path = out_dir / FIGURES[key]
        path.write_bytes(style.png(fig, style.SCALE))
        plt.close(fig)
        paths.append(path)
    return paths
