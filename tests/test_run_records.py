"""The committed run records under book/runs: valid, fresh, and the pages saying what they say.

A record is stale when the current recipe, plan or model would train something else; the failure
names the records to re-run (`python -m s6lib sweep --plan NAME`). Whether a goal is met is a fact
the pages report, whatever it is: these tests check that the page states the records' verdict,
not that the verdict is "met" (the training chapter, Going further and Methods: test_page_numbers).
"""

import html
import re

import pytest

from conftest import ROOT, toc_pages
from s6lib import experiments as ex
from s6lib import ablations, models, results, runs, sentences
from s6lib.records import load_record

RUNS = ROOT / ex.RUNS_DIR
# Run records: the device-class folders (other folders, e.g. bench/, hold other kinds of record).
FILES = sorted(p for cls in ex.DEVICE_CLASSES for p in (RUNS / cls).rglob("*.json"))


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(RUNS).as_posix() for p in FILES])
def test_every_committed_record_validates_and_counts_its_parameters_right(path):
    record = load_record(path)
    spec = models.NetSpec(**{k: tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
                             for k, v in record["model"]["spec"].items()})
    assert record["model"]["parameters"] == models.count_parameters(models.build_model(spec)), (
        f"{path.name}: its parameter count is not that of the model it describes")


def test_no_record_is_stale_unplanned_or_misplaced():
    problems = ex.stale_records(RUNS)
    assert not problems, ("records the current code and plans would not reproduce (re-run them with "
                          "`python -m s6lib sweep --plan NAME`, or move them):\n" + "\n".join(map(str, problems)))


def _page_text(built_site, page: str) -> str:
    if page not in toc_pages():
        pytest.skip(f"{page} is not in _toc.yml yet")
    text = re.sub(r"<[^>]+>", " ", (built_site / f"{page}.html").read_text())
    return " ".join(html.unescape(text).split())


def test_the_ablations_page_has_a_row_and_a_write_up_for_every_experiment(built_site):
    text = _page_text(built_site, "book/mnist/ablations")
    summaries = results.summarize(runs.load_runs("ablations", RUNS))
    rows = ablations.compare_all(summaries)
    assert {r.key for r in rows} == {s.key for s in summaries} - {ex.BASELINE}
    for r in rows:
        assert f"{r.key} —" in text, f"the ablations page has no write-up for {r.key!r}"
        assert f"{r.key}: {r.summary.change}" in text, f"the ablations page has no table row for {r.key!r}"
        assert f"Its seeds ended at {ablations.seeds_text(r)}%" in text, f"the page does not give {r.key!r}'s seeds"
    items = [line.removeprefix("- ") for line in sentences.what_matters(rows, summaries).splitlines()]
    summary = " ".join(" ".join(items).replace("**", "").replace("`", "").split())
    tight = lambda t: re.sub(r"\s+([,.;:)])", r"\1", t)  # noqa: E731  (a tag's space before punctuation)
    assert tight(summary) in tight(text), "the ablations page does not state the records' summary"
