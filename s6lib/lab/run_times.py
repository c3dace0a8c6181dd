"""How long running the book takes, from the run records (the "How to run this book" page): each
Part 2 chapter's training runs on one CPU core and on a GPU, and one run of each recipe.

A record's `seconds` is the wall-clock time of one training process; on a CPU each process has
one thread (the sweep runs one per core side by side), so minutes here are minutes of one core.
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pandas as pd

from ..analysis.results import min_last
from ..mnist.goals import TARGET, TRAIN_IMAGES
from ..mnist.recipes import VALIDATION_SPLITS, ConfigError, display_name, get_recipe, stored_name
from . import experiments as ex
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


# ---- The instructor guide: each chapter's stated time, and training time on the machines students have.

TIME_MARK = "**Time**:"  # the line of each chapter's objectives admonition that states its time


def toc_chapters(root: Path) -> list[str]:
    """The chapters of the table of contents' numbered parts (the course), in order."""
    import yaml

    if not (root / "_toc.yml").is_file():  # a chapter opened alone (Colab): no book around it
        return []
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    return [c["file"] for part in toc.get("parts", []) if part.get("numbered") for c in part["chapters"]]


def stated_time(root: Path, chapter: str) -> tuple[int, int | None] | None:
    """(minutes to read, minutes for the work by hand or the exercises, None where it states none) from
    the chapter's "**Time**:" line: its first number and its second; None without such a line."""
    for suffix in (".ipynb", ".md"):
        path = root / f"{chapter}{suffix}"
        if path.exists():
            break
    else:
        return None
    if path.suffix == ".ipynb":
        text = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"]
                         if c["cell_type"] == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    line = next((line for line in text.splitlines() if line.strip().startswith(TIME_MARK)), None)
    numbers = [int(n) for n in re.findall(r"\d+", line or "")]
    if not numbers:
        return None
    return numbers[0], (numbers[1] if len(numbers) > 1 else None)


def stated_times(root: Path) -> pd.DataFrame:
    """One row per course chapter that states its time: chapter (its file), title, reading and doing
    minutes (doing is NaN where the chapter states only a reading time)."""
    rows = []
    for chapter in toc_chapters(root):
        stated = stated_time(root, chapter)
        if stated is not None:
            rows.append({"chapter": chapter, "title": chapter_title(root, chapter),
                         "reading": stated[0], "doing": stated[1]})
    return pd.DataFrame(rows, columns=["chapter", "title", "reading", "doing"]).astype({"doing": "Float64"})


def _utc(text: str | None):
    return pd.Timestamp(text) if text else None


def _overlaps(records: list[dict]) -> list[int]:
    """For each record, how many of the others ran at the same time on a machine of the same name."""
    spans = [(r["environment"]["device_name"], _utc(r.get("started_utc")), _utc(r.get("finished_utc")))
             for r in records]
    return [sum(1 for j, (other, start_b, end_b) in enumerate(spans)
                if j != i and other == name and None not in (start, end, start_b, end_b)
                and start_b < end and start < end_b)
            for i, (name, start, end) in enumerate(spans)]


def recorded_times(runs_dir, device_class: str = "cpu", precision: str | None = "float32",
                   threads: int | None = 1) -> pd.DataFrame:
    """The complete run records under runs_dir/device_class made in `precision` with `threads` threads
    (None: any), grouped by recipe and machine: their runs, epochs, the median seconds of one epoch,
    the minutes of a whole run (median, least, most), and how many of those runs ran while another
    recorded run was running on a machine of the same name (the machine was shared)."""
    folder = Path(runs_dir) / device_class
    every = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    every = [r for r in every if r.get("status") == "complete"]
    shared = dict(zip(map(id, every), _overlaps(every)))
    rows = {}
    for record in every:
        environment, engine = record["environment"], record["engine"]
        if precision is not None and engine["precision"] != precision:
            continue
        if threads is not None and environment["threads"] != threads:
            continue
        recipe = record["config"]["recipe"]
        key = (recipe["name"], environment["device_name"])
        row = rows.setdefault(key, {"recipe": recipe["name"], "model": recipe["model"], "pipeline": recipe["pipeline"],
                                    "batch size": recipe["batch_size"], "epochs": recipe["epochs"],
                                    "train images": train_images(recipe.get("validation")),
                                    "machine": environment["device_name"], "precision": engine["precision"],
                                    "threads": environment["threads"], "epoch seconds": [], "run seconds": [],
                                    "shared": 0})
        row["epoch seconds"] += [epoch["seconds"] for epoch in record["epochs"]]
        row["run seconds"].append(record["seconds"])
        row["shared"] += shared[id(record)] > 0
    table = []
    for row in rows.values():
        epoch_seconds, run_seconds = row.pop("epoch seconds"), row.pop("run seconds")
        table.append(row | {"runs": len(run_seconds), "epoch s (median)": statistics.median(epoch_seconds),
                            "run min (median)": statistics.median(run_seconds) / 60,
                            "run min (least)": min(run_seconds) / 60, "run min (most)": max(run_seconds) / 60})
    columns = ["recipe", "model", "pipeline", "batch size", "epochs", "train images", "machine", "precision", "threads",
               "runs", "epoch s (median)", "run min (median)", "run min (least)", "run min (most)", "shared"]
    return pd.DataFrame(table, columns=columns)


def train_images(validation: str | None) -> int:
    """The training images one epoch goes through: MNIST's 60,000 less a validation split's."""
    return TRAIN_IMAGES - (10 * VALIDATION_SPLITS[validation][0] if validation else 0)


def same_network(times: pd.DataFrame, recipe: str) -> pd.DataFrame:
    """The rows of `times` that train `recipe`'s model with its data pipeline and batch size, with the
    minutes a whole run of `recipe` would take at their pace: their run minutes scaled by the images
    `recipe` trains on (epochs × training images) over the images they trained on ("scale" column)."""
    r = get_recipe(recipe)
    same = (times["model"] == r.model) & (times["pipeline"] == r.pipeline) & (times["batch size"] == r.batch_size)
    rows = times[same].reset_index(drop=True)
    scale = r.epochs * train_images(r.validation) / (rows["epochs"] * rows["train images"])
    rows = rows.assign(scale=scale)
    for column in ("run min (median)", "run min (least)", "run min (most)"):
        rows[f"{recipe} {column}"] = rows[column] * scale
    return rows


def bar_verdict(name: str, runs_dir) -> dict:
    """What the records of recipe `name` (its experiment's planned seeds, in `runs_dir`) say of the strict bar:
    {"experiment", "planned", "complete", "lowest" (the lowest of every complete seed's last LAST test
    accuracies, None without any), "meets" (None while a planned seed has no complete record)}."""
    key = stored_name(name)
    try:
        exp = ex.get_experiment(key)
    except ConfigError:
        return {"experiment": key, "planned": 0, "complete": 0, "lowest": None, "meets": None}
    done = [run.record for run in load_runs([exp], runs_dir) if run.complete]
    lowest = min((min_last(record) for record in done), default=None)
    all_done = len(done) == len(exp.seeds)
    return {"experiment": key, "planned": len(exp.seeds), "complete": len(done), "lowest": lowest,
            "meets": (lowest >= TARGET) if all_done else None}


def time_to_bar_table(bench_dir, runs_dir) -> pd.DataFrame:
    """The benchmark's headline (its `time_to_bar` rows), one row per record in `bench_dir`, recipe and
    core count: seconds per epoch timed on that machine, a whole run's minutes at that pace, what the
    recipe's records in `runs_dir` say of the bar now (`bar_verdict`: `lowest`, `meets`), the minutes
    to a run that meets it (None where they do not), and the GFLOP/s set beside the matrix-product
    ceiling the same benchmark measured. Empty without such records."""
    rows = []
    for path in sorted(Path(bench_dir).glob("*.json")) if Path(bench_dir).is_dir() else []:
        record = json.loads(path.read_text())
        ceilings = {row["cores"]: row["matmul_gflops"] for row in record.get("ceiling", {}).get("rows", [])}
        for row in record.get("time_to_bar", []):
            verdict = bar_verdict(row["recipe"], runs_dir)
            rows.append({
                "machine": record["environment"]["device_name"], "recipe": display_name(row["recipe"]),
                "cores": row["cores"], "precision": row["engine"]["precision"], "epochs": row["epochs"],
                "epoch s": row["seconds_per_epoch"], "run min": row["run_seconds"] / 60,
                "lowest": verdict["lowest"], "meets": verdict["meets"],
                "to bar min": row["run_seconds"] / 60 if verdict["meets"] else None,
                "GFLOP/s": row["gflops"], "ceiling GFLOP/s": ceilings.get(row["cores"]),
                "of ceiling": row["fraction_of_ceiling"]})
    return pd.DataFrame(rows)
