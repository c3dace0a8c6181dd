"""The instructor guide: its times are the chapters' and the records' own, its slips are the answer
boxes', it is in the full edition only, and no student page links to it."""

import copy
import json
import re
import statistics
from datetime import datetime
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from s6lib.backprop import answers as part1
from s6lib.book import guide
from s6lib.lab import run_times
from s6lib.mnist import answers as part2
from s6lib.mnist.recipes import VALIDATION_SPLITS, get_recipe

from conftest import ROOT

GUIDE = "book/instructor_guide"
RUNS = ROOT / "book" / "runs"


def course_chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [c["file"] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]


def markdown_of(notebook: Path) -> str:
    return "\n".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]
                     if c["cell_type"] == "markdown")


# ---- in the full edition only

def test_the_guide_is_the_last_part_of_the_toc_and_left_out_of_the_student_edition():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    last = toc["parts"][-1]
    assert last["caption"] == "For instructors" and [c["file"] for c in last["chapters"]] == [GUIDE]
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert GUIDE in config["student_edition"]["leave_out"]


def test_no_other_page_links_to_the_guide():
    """The student build fails on a link to a left-out page: no page but the guide may name it."""
    name = Path(GUIDE).name
    for path in sorted((ROOT / "book").rglob("*")):
        if path.suffix not in (".ipynb", ".md") or path.with_suffix("").relative_to(ROOT).as_posix() == GUIDE:
            continue
        if "_build" in path.parts or ".ipynb_checkpoints" in path.parts:
            continue
        assert name not in path.read_text(encoding="utf-8"), f"{path.relative_to(ROOT)} links to the guide"


# ---- the times

def test_every_course_chapter_states_its_time_and_the_guide_reads_it():
    times = run_times.stated_times(ROOT)
    assert list(times["chapter"]) == course_chapters()
    for _, row in times.iterrows():
        line = next(line for line in markdown_of(ROOT / f"{row['chapter']}.ipynb").splitlines()
                    if line.startswith("**Time**:"))
        numbers = [int(n) for n in re.findall(r"[0-9]+", line)]
        assert row["reading"] == numbers[0]
        assert (row["doing"] == numbers[1]) if len(numbers) > 1 else row["doing"] is pd.NA


def test_a_teachers_edit_of_a_time_line_is_followed(tmp_path):
    chapter = course_chapters()[0]
    nb = json.loads((ROOT / f"{chapter}.ipynb").read_text())
    for cell in nb["cells"]:
        cell["source"] = [re.sub(r"^\*\*Time\*\*:.*", "**Time**: 50 minutes to read, 70 to practise.", line)
                          for line in cell["source"]]
    (tmp_path / chapter).parent.mkdir(parents=True)
    (tmp_path / f"{chapter}.ipynb").write_text(json.dumps(nb))
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(
        {"format": "jb-book", "root": "book/intro", "parts": [{"numbered": True, "chapters": [{"file": chapter}]}]}))
    times = run_times.stated_times(tmp_path)
    assert list(times["reading"]) == [50] and list(times["doing"]) == [70]
    assert run_times.stated_times(tmp_path / "nowhere").empty  # a chapter opened alone: no book around it


def records(device_class="cpu"):
    folder = RUNS / device_class
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def test_float32_single_thread_times_are_the_records_own():
    every = [r for r in records() if r["status"] == "complete"]
    chosen = [r for r in every if r["engine"]["precision"] == "float32" and r["environment"]["threads"] == 1]
    table = run_times.recorded_times(RUNS).set_index(["recipe", "machine"])
    groups = {}
    for r in chosen:
        groups.setdefault((r["config"]["recipe"]["name"], r["environment"]["device_name"]), []).append(r)
    assert set(table.index) == set(groups)

    def when(text):
        return datetime.fromisoformat(text)

    for key, group in groups.items():
        row = table.loc[key]
        assert row["runs"] == len(group)
        assert row["epoch s (median)"] == pytest.approx(statistics.median(
            e["seconds"] for r in group for e in r["epochs"]))
        runs = sorted(r["seconds"] / 60 for r in group)
        assert (row["run min (least)"], row["run min (most)"]) == pytest.approx((runs[0], runs[-1]))
        assert row["run min (median)"] == pytest.approx(statistics.median(runs))
        shared = sum(any(o is not r and o["environment"]["device_name"] == r["environment"]["device_name"]
                         and when(o["started_utc"]) < when(r["finished_utc"])
                         and when(r["started_utc"]) < when(o["finished_utc"]) for o in every) for r in group)
        assert row["shared"] == shared
        validation = group[0]["config"]["recipe"].get("validation")
        held_out = 10 * VALIDATION_SPLITS[validation][0] if validation else 0
        assert row["train images"] == 60_000 - held_out


def test_overlapping_runs_count_as_shared_and_others_do_not(tmp_path):
    source = next(r for r in records() if r["engine"]["precision"] == "float32")
    (tmp_path / "cpu").mkdir()
    spans = {"a": ("2026-01-01T10:00:00+00:00", "2026-01-01T10:30:00+00:00"),
             "b": ("2026-01-01T10:20:00+00:00", "2026-01-01T10:50:00+00:00"),
             "c": ("2026-01-01T11:00:00+00:00", "2026-01-01T11:30:00+00:00")}
    for name, (start, end) in spans.items():
        record = copy.deepcopy(source)
        record["config"]["recipe"]["name"] = f"recipe-{name}"
        record["started_utc"], record["finished_utc"] = start, end
        (tmp_path / "cpu" / f"{name}.json").write_text(json.dumps(record))
    table = run_times.recorded_times(tmp_path).set_index("recipe")
    assert table["shared"].to_dict() == {"recipe-a": 1, "recipe-b": 1, "recipe-c": 0}
    assert run_times.recorded_times(tmp_path, "gpu", None, None).empty  # no record yet


def test_the_fast_recipes_estimate_is_scaled_by_the_images_it_trains_on():
    fast = get_recipe("fast")
    table = run_times.recorded_times(RUNS)
    same = run_times.same_network(table, "fast")
    expected = table[(table["model"] == fast.model) & (table["pipeline"] == fast.pipeline)
                     & (table["batch size"] == fast.batch_size)]
    assert list(same["recipe"]) == list(expected["recipe"])
    for _, row in same.iterrows():
        scale = fast.epochs * 60_000 / (row["epochs"] * row["train images"])
        assert row["fast run min (median)"] == pytest.approx(row["run min (median)"] * scale)


def test_the_time_to_the_bar_is_the_benchmarks_pace_where_the_records_meet_the_bar_now(tmp_path):
    """A benchmark's time to the bar follows the records on the page, not the verdict the benchmark
    saw when it ran: a fork whose records change the verdict changes the table."""
    runs = ROOT / "book" / "runs"
    row = {"cores": 1, "engine": {"precision": "float32"}, "epochs": 10, "seconds_per_epoch": 30.0,
           "run_seconds": 300.0, "gflops": 5.0, "fraction_of_ceiling": 0.1,
           "records": {"meets": True}, "seconds_to_bar": 300.0}  # what the benchmark saw: ignored
    record = {"environment": {"device_name": "A CPU"}, "ceiling": {"rows": [{"cores": 1, "matmul_gflops": 50.0}]},
              "time_to_bar": [dict(row, recipe=name) for name in ("fast", "short", "original")]}
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "a-cpu.json").write_text(json.dumps(record))
    table = run_times.time_to_bar_table(tmp_path / "bench", runs)
    for _, shown in table.iterrows():
        verdict = run_times.bar_verdict(shown["recipe"], runs)
        assert shown["meets"] == verdict["meets"] and shown["lowest"] == verdict["lowest"]
        assert (shown["to bar min"] == 5.0) if verdict["meets"] else pd.isna(shown["to bar min"])
        assert shown["ceiling GFLOP/s"] == 50.0 and shown["machine"] == "A CPU"
    assert run_times.time_to_bar_table(tmp_path / "none", runs).empty


# ---- the slips

def test_every_likely_slip_is_in_the_table_with_its_number():
    slips = guide.likely_slips(ROOT)
    expected = [(box, slip) for module in (part1, part2)
                for box, named in module.LIKELY_MISTAKES.items() for slip in named]
    assert list(zip(slips["box"], slips["slip"])) == expected
    for _, row in slips.iterrows():
        module = part1 if row["box"] in part1.LIKELY_MISTAKES else part2
        assert row["slip's value"] == module.likely_mistake(row["box"], row["slip"])
        assert row["box"] == row["exercise"] or row["box"].startswith(row["exercise"] + "-")
        assert f":label: {row['exercise']}" in "\n".join(
            "".join(c["source"]) for c in json.loads((ROOT / f"{row['chapter']}.ipynb").read_text())["cells"])
        if row["box"] in part1.ANSWERS:
            assert row["answer"] == part1.answer(row["box"])


def test_part2_answers_are_the_functions_their_chapters_show():
    slips = guide.likely_slips(ROOT)
    assert set(guide.PART2_ANSWERS) == set(part2.LIKELY_MISTAKES)
    for box, (function, args) in guide.PART2_ANSWERS.items():
        chapter = slips.loc[slips["box"] == box, "chapter"].iloc[0]
        code = "".join("".join(c["source"]) for c in json.loads((ROOT / f"{chapter}.ipynb").read_text())["cells"]
                       if c["cell_type"] == "code")
        code = re.sub(r"\s+", "", code)
        call = f"answers.{function.__name__}({','.join(repr(a).replace(chr(39), chr(34)) for a in args)})"
        assert call in code or (not args and f"answers.{function.__name__}()" in code), (box, call)


def test_the_guide_says_what_each_exercises_slips_reveal():
    words = markdown_of(ROOT / f"{GUIDE}.ipynb")
    for exercise in guide.likely_slips(ROOT)["exercise"].unique():
        assert f"`{exercise}`" in words, f"the guide says nothing about {exercise}'s slips"


# ---- the rubrics

def master_points(name: str) -> dict[str, int]:
    points = {}
    for cell in nbformat.read(ROOT / "assignments" / name / f"{name}.ipynb", as_version=4).cells:
        if cell.cell_type == "raw" and cell.source.startswith("# BEGIN QUESTION"):
            config = yaml.safe_load(cell.source.removeprefix("# BEGIN QUESTION"))
            points[config["name"]] = sum(config["points"])
    return points


@pytest.mark.parametrize("name", ["backprop", "small_net"])
def test_the_rubric_the_guide_includes_is_the_notebooks_points(name):
    assert guide.readme_rubric(ROOT, name) == master_points(name)
    words = markdown_of(ROOT / f"{GUIDE}.ipynb")
    include = re.search(r"```\{include\} (\S+)\n:start-after: \"(.+)\"\n:end-before: \"(.+)\"", words)
    readme = (ROOT / "book" / include[1]).resolve().read_text()
    section = readme.split(include[2], 1)[1].split(include[3], 1)[0]
    assert f"**`{name}`**" in section


def test_the_guides_rubric_tables_add_up_to_ten():
    words = markdown_of(ROOT / f"{GUIDE}.ipynb")
    rubrics = words.split("## Rubrics", 1)[1].split("\n### ")[1:]
    assert len(rubrics) == 2
    for rubric in rubrics:
        points = [int(m) for m in re.findall(r"^\| [^|]+ \| (\d+) \|", rubric, re.MULTILINE)]
        assert sum(points) == 10, rubric.splitlines()[0]


# ---- the page, executed

@pytest.mark.slow
def test_the_executed_guide_shows_the_checks_and_the_class(tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / f"{GUIDE}.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(ROOT / "book")}}).execute()
    text = "\n".join(o.get("text", "")
                     + "".join(o.get("data", {}).get(kind, "") for kind in ("text/markdown", "text/html"))
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs).replace("<wbr>", "")
    assert "∂E/∂w3" in text and "a_h1" in text and "all 6 steps right" in text
    fast = sorted((RUNS / "cpu").glob("fast-s*.json"))
    assert re.search(rf"records counted\s+{len(fast)}\b", text) and re.search(r"records left out\s+2\b", text)
    same = run_times.same_network(run_times.recorded_times(RUNS), "fast")
    if len(same) and "fast" not in set(same["recipe"]):
        for value in (same["fast run min (least)"].min(), same["fast run min (most)"].max()):
            assert f"{value:.0f}" in text
    if not records("gpu"):
        assert "no record yet" in text
