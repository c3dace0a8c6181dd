"""How long running the book takes, from the run records (the "How to run this book" page): each
Part 2 chapter's training runs on one CPU core and on a GPU, and one run of each recipe.

A record's `seconds` is the wall-clock time of one training process; on a CPU each process has
one thread (the sweep runs one per core side by side), so minutes here are minutes of one core.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pandas as pd

from . import experiments as ex
from .recipes import display_name
from .runs import load_runs

# The plans whose records each chapter renders (tests/test_run_times.py checks the chapters load them).
CHAPTER_PLANS = {"book/mnist/training": "training", "book/mnist/ablations": "ablations",
                 "book/mnist/going_further": "small"}
DEVICES = {"cpu": "one CPU core", "gpu": "a GPU"}


def _recorded(plan: str, runs_dir, device_class: str) -> tuple[int, list[dict]]:
    """(runs planned, the complete records of them made on `device_class`)."""
    runs = load_runs(plan, runs_dir, prefer=(device_class,))
    return len(runs), [r.record for r in runs if r.complete and r.device_class == device_class]


def _minutes(seconds: list[float], planned: int) -> str:
    """A plan's time: all its runs at the recorded median when some are missing."""
    if not seconds:
        return "no record yet"
    if len(seconds) == planned:
        return f"{sum(seconds) / 60:,.0f} min"
    return f"about {statistics.median(seconds) * planned / 60:,.0f} min ({len(seconds)} of {planned} runs recorded)"


def chapter_title(root: Path, chapter: str) -> str:
    """A chapter's title: the first heading of its notebook (its path where the notebook is not here,
    as in Colab, which has only the chapter it opened)."""
    path = root / f"{chapter}.ipynb"
    if not path.exists():
        return chapter
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        for line in "".join(cell["source"]).splitlines() if cell["cell_type"] == "markdown" else ():
            if line.startswith("# "):
                return line[2:].strip()
    return chapter


def chapter_table(runs_dir, root: Path) -> pd.DataFrame:
    """One row per Part 2 chapter with training runs: how many, and their minutes on each kind of device."""
    rows = []
    for chapter, plan in CHAPTER_PLANS.items():
        row = {"chapter": chapter_title(root, chapter), "training runs": len(ex.planned_runs(plan))}
        for cls, name in DEVICES.items():
            planned, records = _recorded(plan, runs_dir, cls)
            row[name] = _minutes([r["seconds"] for r in records], planned)
        rows.append(row)
    return pd.DataFrame(rows)


def recipe_table(runs_dir) -> pd.DataFrame:
    """One run of each recipe of the training plan: its epochs and median minutes on each device."""
    rows = []
    for experiment in ex.get_plan("training"):
        row = {"recipe": display_name(experiment.key), "epochs": experiment.build().epochs}
        for cls, name in DEVICES.items():
            _, records = _recorded([experiment], runs_dir, cls)
            seconds = [r["seconds"] for r in records]
            row[name] = (f"{statistics.median(seconds) / 60:.1f} min (median of {len(seconds)})" if seconds
                         else "no record yet")
        rows.append(row)
    return pd.DataFrame(rows)


def record_devices(runs_dir) -> list[str]:
    """The devices the complete records of CHAPTER_PLANS were made on, by device class."""
    names = set()
    for plan in CHAPTER_PLANS.values():
        for cls in DEVICES:
            names |= {f"{r['environment']['device_name']} ({cls.upper()})" for r in _recorded(plan, runs_dir, cls)[1]}
    return sorted(names)
