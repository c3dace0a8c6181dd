"""The "How to run this book" page's minutes: each Part 2 chapter's training runs, from the records."""

import json
import statistics

from s6lib.lab import experiments as ex
from s6lib.lab import run_times
from s6lib.mnist.recipes import display_name

from conftest import ROOT

RUNS = ROOT / "book" / "runs"


def test_each_chapter_renders_the_plan_it_is_timed_by():
    for chapter, plan in run_times.CHAPTER_PLANS.items():
        nb = json.loads((ROOT / f"{chapter}.ipynb").read_text())
        code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        assert f'load_runs("{plan}"' in code, f"{chapter} does not load the {plan!r} plan's runs"


def recorded_seconds(plan: str, device_class: str) -> list[float]:
    """Read straight from the record files: the complete runs of `plan` made on `device_class`."""
    seconds = []
    for run in ex.planned_runs(plan):
        path = RUNS / device_class / run.path
        if path.exists():
            record = json.loads(path.read_text())
            if record["status"] == "complete" and record["config_fingerprint"] == run.fingerprint():
                seconds.append(record["seconds"])
    return seconds


def test_minutes_are_the_records_own():
    table = run_times.chapter_table(RUNS, ROOT).set_index("chapter")
    assert list(table.index) == [run_times.chapter_title(ROOT, c) for c in run_times.CHAPTER_PLANS]
    for (chapter, plan), (_, row) in zip(run_times.CHAPTER_PLANS.items(), table.iterrows()):
        planned = len(ex.planned_runs(plan))
        assert row["training runs"] == planned
        for cls, column in run_times.DEVICES.items():
            seconds = recorded_seconds(plan, cls)
            if not seconds:
                assert row[column] == "no record yet"
            elif len(seconds) == planned:
                assert row[column] == f"{sum(seconds) / 60:,.0f} min"
            else:
                assert row[column].startswith(f"about {statistics.median(seconds) * planned / 60:,.0f} min")
                assert f"({len(seconds)} of {planned} runs recorded)" in row[column]


def test_one_run_of_each_recipe():
    table = run_times.recipe_table(RUNS)
    keys = [e.key for e in ex.get_plan("training")]
    assert list(table["recipe"]) == [display_name(k) for k in keys]
    for key, (_, row) in zip(keys, table.iterrows()):
        seconds = recorded_seconds([ex.get_experiment(key)], "cpu")
        expected = (f"{statistics.median(seconds) / 60:.1f} min (median of {len(seconds)})" if seconds
                    else "no record yet")
        assert row["one CPU core"] == expected


def test_a_chapter_opened_alone_is_named_by_its_path(tmp_path):
    assert run_times.chapter_title(tmp_path, "book/mnist/training") == "book/mnist/training"
    assert run_times.chapter_title(ROOT, "book/mnist/training").startswith(("Training", "6"))
