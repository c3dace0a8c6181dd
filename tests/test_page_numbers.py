"""The numbers the training chapter, Going further and the Methods appendix state are the records'.

Each page glues its computed numbers into its prose (myst-nb's `glue`); the build keeps them in
`_build/jupyter_execute/<page>.glue.json`. These tests recompute each number from the run records'
JSON with code of their own (plain arithmetic on the epochs, not s6lib's summaries) and compare.
The expectations come from the records, so a fork with other records stays green while its pages
and records agree. Nothing here reads a page's wording.
"""

import json
import statistics

import pytest

from s6lib.analysis import original
from s6lib.lab import experiments as ex

from conftest import ROOT, toc_pages

RUNS = ROOT / ex.RUNS_DIR
TARGET, LAST = 99.4, 3


def glued(built_site, page: str) -> dict[str, str]:
    """The values a built page glued into its prose, by name, as the reader sees them."""
    if page not in toc_pages():
        pytest.skip(f"{page} is not in _toc.yml")
    path = built_site.parent / "jupyter_execute" / f"{page}.glue.json"
    return {name: output["data"]["text/markdown"] for name, output in json.loads(path.read_text()).items()}


def records(plan_or_experiments, key: str | None = None) -> list[dict]:
    """The complete records of a plan's runs (of experiment `key` only, if given), a GPU record
    preferred to a CPU one, each checked to be the planned run (its config fingerprint)."""
    found = []
    for run in ex.planned_runs(plan_or_experiments):
        if key is not None and run.experiment.key != key:
            continue
        for folder in ("gpu", "cpu"):
            path = RUNS / folder / run.path
            if path.exists():
                record = json.loads(path.read_text())
                if record["status"] == "complete" and record["config_fingerprint"] == run.fingerprint():
                    found.append(record)
                    break
    return found


def finals(recs):
    return [r["epochs"][-1]["test_acc"] for r in recs]


def worst_last(recs):
    return min(e["test_acc"] for r in recs for e in r["epochs"][-LAST:])


def pct(value) -> str:
    return f"{value:.2f}"


def verdict(recs, mean_at_least: float, each_at_least: float, seeds: int = 5) -> str:
    if len(recs) < seeds:
        return "not yet measured"
    ok = statistics.fmean(finals(recs)) >= mean_at_least and worst_last(recs) >= each_at_least
    return "met" if ok else "not met"


def test_the_original_run_and_its_seeds_on_the_training_page(built_site):
    said = glued(built_site, "book/mnist/training")
    log = list(original.ORIGINAL_LOG["test_acc"])
    first = next(i for i, a in enumerate(log, 1) if a >= TARGET)
    assert (said["original-first"], said["original-epochs"]) == (str(first), str(len(log)))
    assert said["original-final"] == pct(log[-1])
    seeds = finals(records("training", "seed"))
    assert said["original-seeds"] == str(len(seeds))
    assert (said["original-low"], said["original-high"]) == (pct(min(seeds)), pct(max(seeds)))
    assert said["original-mean"] == pct(statistics.fmean(seeds))
    assert said["original-std"] == pct(statistics.stdev(seeds))
    assert said["original-above"] == str(sum(a >= TARGET for a in seeds))


def test_the_fast_recipe_s_verdict_on_the_training_page(built_site):
    said = glued(built_site, "book/mnist/training")
    fast = records("training", "fast")
    assert said["fast-verdict"] == verdict(fast, float(said["goal-mean"]), TARGET)
    assert said["last-epochs"] == str(LAST)


@pytest.mark.parametrize("page, group, start, prefix, start_prefix", [
    ("book/mnist/training", "best", "fast", "best", "fast"),
    ("book/mnist/going_further", "best-small", "small-deep", "small", "start")])
def test_each_best_track_s_final_runs_and_starting_point(built_site, page, group, start, prefix, start_prefix):
    said = glued(built_site, page)
    final = records("best", group)
    assert said[f"{prefix}-seeds"] == str(len(final))
    goal = (float(said[f"{prefix}-goal-mean"]), float(said[f"{prefix}-goal-each"]))
    assert said[f"{prefix}-state"] == verdict(final, *goal)
    if len(final) == 5:
        assert said[f"{prefix}-mean"] == pct(statistics.fmean(finals(final)))
        assert said[f"{prefix}-worst"] == pct(worst_last(final))
    plan = "training" if start == "fast" else "small"
    before = records(plan, start)
    assert said[f"{start_prefix}-mean"] == pct(statistics.fmean(finals(before)))
    assert said[f"{start_prefix}-worst"] == pct(worst_last(before))


def test_going_further_s_conclusion_is_the_bar_applied_to_the_records(built_site):
    said = glued(built_site, "book/mnist/going_further")
    designs = {e.key: records("small", e.key) for e in ex.get_plan("small")}
    met = [k for k, recs in designs.items() if len(recs) >= 5 and worst_last(recs) >= TARGET]
    assert (said["designs"], said["designs-met"]) == (str(len(designs)), str(len(met)))
    measured = {k: recs for k, recs in designs.items() if recs}
    steadiest = max(measured, key=lambda k: (min(min(e["test_acc"] for e in r["epochs"][-LAST:])
                                                  for r in measured[k]), statistics.fmean(finals(measured[k]))))
    assert said["steadiest"] == f"`{steadiest}`"
    assert said["steadiest-worst"] == pct(worst_last(measured[steadiest]))
    lucky = [k for k, recs in measured.items()
             if all(max(e["test_acc"] for e in r["epochs"]) >= TARGET for r in recs)]
    assert said["lucky"] == str(len(lucky))


def test_the_methods_page_counts_the_training_chapter_s_runs_and_the_bf16_check(built_site):
    said = glued(built_site, "book/methods")
    # the original and fast recipes, the tuning round, best's rounds (each candidate once) and finals
    candidates = {e.key: e for r in ex.ROUNDS["best"] for e in r}
    finals = [e for e in ex.get_plan("best") if e.key == "best"]
    behind = [*ex.get_plan("training"), *ex.get_plan("tuning"), *candidates.values(), *finals]
    assert said["training-runs"] == str(len(records(behind)))
    pairs = []
    for run in ex.planned_runs([ex.get_experiment("tune-base")]):
        paths = {"bf16-autocast": RUNS / "cpu" / run.path, "float32": RUNS / "checks" / "cpu-float32" / run.path}
        found = {precision: json.loads(path.read_text()) for precision, path in paths.items() if path.exists()}
        # a pair is a bf16 run and its float32 twin: a fork's float32 run in cpu/ has no bf16 to compare
        if len(found) == 2 and all(found[p]["engine"]["precision"] == p for p in found):
            pairs.append([found[p]["epochs"][-1]["test_acc"] for p in paths])
    for column, key in enumerate(("check-bf16", "check-float32")):
        assert said[key] == (pct(statistics.fmean(p[column] for p in pairs)) if pairs else "–")


def test_the_methods_page_states_the_quick_round_s_pick_and_short_s_finals(built_site):
    said = glued(built_site, "book/methods")
    # the quick rule, recomputed: each candidate's lowest validation epoch of its last 3 over its seeds;
    # the fewest epochs that hold the bar, or (none holding it) the highest lowest epoch
    lowest = {}
    for exp in ex.QUICK_ROUND:
        recs = records([exp])
        if len(recs) < len(exp.seeds):
            pytest.skip(f"{exp.key} has no complete record of every seed")
        lowest[exp.key] = (min(e["val_acc"] for r in recs for e in r["epochs"][-LAST:]), exp.build().epochs)
    holding = [k for k, (low, _) in lowest.items() if low >= TARGET]
    pick = (min(holding, key=lambda k: lowest[k][1]) if holding
            else max(lowest, key=lambda k: (lowest[k][0], -lowest[k][1])))
    assert said["quick-pick"] == f"`{pick}`"
    assert said["quick-lowest"] == pct(lowest[pick][0])
    if lowest[pick][0] < TARGET:
        assert pct(TARGET - lowest[pick][0]) in said["quick-gap"]
    else:  # no gap to state
        assert not any(c.isdigit() for c in said["quick-gap"])
    short = records([ex.SHORT])
    if short:
        assert said["short-lowest"] == pct(worst_last(short))
        assert said["short-epochs"] == str(len(short[0]["epochs"]))
        if worst_last(short) >= TARGET:  # the verdict states no gap
            assert not any(c.isdigit() for c in said["short-holds"])
        else:
            assert pct(TARGET - worst_last(short)) in said["short-holds"]


def test_the_draw_page_describes_the_model_it_runs_from_that_model_s_record(built_site):
    said = glued(built_site, "book/mnist/draw")
    record = json.loads((ROOT / "book" / "model" / "fast-s1.json").read_text())
    assert said["model-name"] == f"`{record['model']['name']}`"
    assert said["model-parameters"] == f"{record['model']['parameters']:,}"
    assert said["model-epochs"] == str(len(record["epochs"]))
    assert said["model-final-acc"] == pct(record["epochs"][-1]["test_acc"])
    assert said["model-seed"] == str(record["config"]["seed"])
