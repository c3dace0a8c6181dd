"""The committed run records under book/runs: valid, fresh, and the pages saying what they say.

A record is stale when the current recipe, plan or model would train something else; the failure
names the records to re-run (`python -m s6lib sweep --plan NAME`). Whether a goal is met is a fact
the pages report, whatever it is: these tests check that the page states the records' verdict,
not that the verdict is "met".
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


def _claim():
    return results.headline(runs.load_runs("training", RUNS))


def _page_text(built_site, page: str) -> str:
    if page not in toc_pages():
        pytest.skip(f"{page} is not in _toc.yml yet")
    text = re.sub(r"<[^>]+>", " ", (built_site / f"{page}.html").read_text())
    return " ".join(html.unescape(text).split())


def test_the_training_page_states_the_verdict_of_the_records(built_site):
    claim = _claim()
    assert claim.verdict_line in _page_text(built_site, "book/mnist/training"), (
        f"the training page does not say {claim.verdict_line!r}")


def test_the_going_further_page_states_each_verdict_of_the_records(built_site):
    text = _page_text(built_site, "book/mnist/going_further")
    small = runs.load_runs("small", RUNS)
    for exp in ex.get_plan("small"):
        line = results.small_claim(small, exp.key).verdict_line
        assert line in text, f"the going-further page does not say {line!r}"


def test_the_ablations_page_states_every_experiment_and_what_to_keep_as_the_records_give(built_site):
    """Every experiment's row and seeds, and each ingredient's bucket in "What to keep" with its
    difference and the baseline's seed range, as the records give them (not the page's wording)."""
    from s6lib.style import points

    text = _page_text(built_site, "book/mnist/ablations")
    summaries = results.summarize(runs.load_runs("ablations", RUNS))
    rows = ablations.compare_all(summaries)
    assert {r.key for r in rows} == {s.key for s in summaries} - {ex.BASELINE}
    for r in rows:
        assert f"{r.name}: {r.change}" in text, f"the ablations page has no table row for {r.key!r}"
        assert ablations.seeds_text(r) in text, f"the page does not give {r.key!r}'s seeds"
    page = (built_site / "book/mnist/ablations.html").read_text()
    start = page.index('id="what-to-keep"')
    keep = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page[start:page.index('id="every-difference"', start)])).split())
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
        assert not bucket or re.search(rf"\(\s*{len(bucket)}\s*\)", keep), f"'What to keep' does not count its {name!r} bucket"


def test_the_precision_check_on_the_training_page_is_the_records(built_site):
    check = results.precision_check(RUNS)
    text = _page_text(built_site, "book/mnist/training")
    assert sentences.precision_sentence(check).split(" An epoch took")[0] in text


def _as_read(markdown: str) -> str:
    """A generated Markdown sentence as the built page reads, tags removed."""
    text = " ".join(markdown.replace("**", "").replace("`", "").split())
    return re.sub(r"\s+([,.;:)])", r"\1", text)


@pytest.mark.parametrize("page, group", [("book/mnist/training", "best"), ("book/mnist/going_further", "best-small")])
def test_the_best_sections_state_each_round_and_the_verdict_the_records_give(built_site, page, group):
    """Each tuning round's state (its winner by the rule, or how many runs are done), and the final
    runs' verdict, whatever they are, as the records on main give them."""
    from s6lib import best

    text = re.sub(r"\s+([,.;:)])", r"\1", _page_text(built_site, page)).replace("’", "'")  # MyST's typographer
    text = re.sub(r"\(\s+", "(", text)  # a tag's space after an opening bracket
    for number in range(1, len(ex.ROUNDS[group]) + 1):
        sentence = _as_read(best.round_sentence(group, number, RUNS))
        assert sentence in text, f"{page} does not say {sentence!r}"
    for said in (best.final_markdown(group), best.verdict(group, RUNS).sentence(), best.offset_sentence(group, RUNS),
                 best.lessons_markdown(group, RUNS), best.loop_sentence(group, RUNS)):
        assert _as_read(said) in text, f"{page} does not say {_as_read(said)!r}"
    for _, row in best.final_table(group, RUNS).iterrows():  # each complete final run has its row
        assert f"{row['seed']} {row['final test (%)']:.2f} " in text, f"{page} lacks seed {row['seed']}'s final run"
    for r in best.PUBLIC_RESULTS:
        assert r.url in (built_site / f"{page}.html").read_text(), f"{page} does not link {r.url}"
