"""The committed run records under book/runs: valid, fresh, and the pages saying what they say.

A record is stale when the current recipe, plan or model would train something else; the failure
names the records to re-run (`python -m s6lib sweep --plan NAME`). Whether a goal is met is a fact
the pages report, whatever it is: these tests check that the page states the records' verdict,
not that the verdict is "met" (the training chapter, Going further and Methods: test_page_numbers).
"""

import html
import re

import pytest

from s6lib.analysis import ablations, results
from s6lib.lab import experiments as ex
from s6lib.lab import runs
from s6lib.lab.records import load_record
from s6lib.mnist import models, specs

from conftest import ROOT, toc_pages

RUNS = ROOT / ex.RUNS_DIR
# Run records: the device-class folders (other folders, e.g. bench/, hold other kinds of record).
FILES = sorted(p for cls in ex.DEVICE_CLASSES for p in (RUNS / cls).rglob("*.json"))


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(RUNS).as_posix() for p in FILES])
def test_every_committed_record_validates_and_counts_its_parameters_right(path):
    record = load_record(path)
    spec = specs.NetSpec(**{k: tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
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
    text = re.sub(r"<[^>]+>", " ", (built_site / f"{page}.html").read_text().replace("<wbr>", ""))
    return " ".join(html.unescape(text).split())


def test_the_ablations_page_states_every_experiment_and_what_to_keep_as_the_records_give(built_site):
    """Every experiment's row and seeds, and each ingredient's bucket in "What to keep" with its
    difference and the baseline's seed range, as the records give them (not the page's wording)."""
    from s6lib.book.style import points

    text = _page_text(built_site, "book/mnist/ablations")
    summaries = results.summarize(runs.load_runs("ablations", RUNS))
    rows = ablations.compare_all(summaries)
    assert {r.key for r in rows} == {s.key for s in summaries} - {ex.BASELINE}
    for r in rows:
        assert f"{r.name}: {r.change}" in text, f"the ablations page has no table row for {r.key!r}"
        assert ablations.seeds_text(r) in text, f"the page does not give {r.key!r}'s seeds"
    page = (built_site / "book/mnist/ablations.html").read_text().replace("<wbr>", "")
    start = page.index('id="what-to-keep"')
    end = page.index('id="every-difference"', start)
    keep = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page[start:end])).split())
    assert f"{ablations.seed_range(rows[0].base):.2f}" in keep
    buckets = ablations.what_to_keep(rows)
    listed = {name: bucket for name, bucket in buckets.items() if name != "unclear"}  # unclear: words only
    for name, bucket in listed.items():
        for r in bucket:
            assert re.search(rf"{re.escape(r.name)}\s*:\s*{re.escape(points(r.difference.diff))}", keep), \
                f"'What to keep' does not list {r.key!r} with its difference"
    shown = [r.name for r in rows if re.search(rf"\b{re.escape(r.name)}\s*:", keep)]
    assert sorted(shown) == sorted(r.name for b in listed.values() for r in b)  # nothing else listed
    for name, bucket in buckets.items():  # an empty bucket may go unsaid
        assert not bucket or re.search(rf"\(\s*{len(bucket)}\s*\)", keep), \
            f"'What to keep' does not count its {name!r} bucket"

