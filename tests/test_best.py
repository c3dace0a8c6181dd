"""The best recipes' pages read the records: round tables ranked by the rule, verdicts against the goals."""

import math

import pytest

from s6lib.analysis import best, field, selection
from s6lib.analysis.selection import LAST, round_scores
from s6lib.lab import experiments as ex
from s6lib.lab.records import write_record
from s6lib.mnist import goals
from s6lib.mnist.models import build_model, count_parameters

from conftest import make_record, write_round

FINAL = ex.Experiment("best", "best", "the winner on all 60,000 images", "Is the goal met?",
                      model="net6-d05-wide", seeds=ex.FIVE)


def test_the_round_table_is_the_rule_s_ranking_with_each_seed_s_worst_epoch(tmp_path):
    keys = [e.key for e in ex.ROUNDS["best"][0]]
    write_round(tmp_path, "best", {keys[0]: [99.0, 99.3, 99.3, 99.3], keys[2]: [99.0, 99.6, 99.5, 99.7]})
    table = best.round_table("best", 1, tmp_path)
    assert list(table["candidate"]) == [s.key for s in round_scores("best", 1, tmp_path)]
    assert table.iloc[0]["candidate"] == keys[2] and table.iloc[0]["score"] == pytest.approx(99.5)
    assert [table.iloc[0][f"worst, seed {s}"] for s in ex.TUNING_SEEDS] == [99.5] * 3
    assert best.rounds_done("best", tmp_path) == [1]
    (tmp_path / "cpu" / f"{keys[1]}-s{ex.TUNING_SEEDS[0]}.json").unlink()
    assert best.rounds_done("best", tmp_path) == []


def final_record(seed: int, accs: list[float]) -> dict:
    """A complete test-set record of FINAL's run with `seed`, its epochs ending in the test accuracies `accs`."""
    run = next(r for r in ex.planned_runs([FINAL]) if r.seed == seed)
    record = make_record()
    record["config"], record["config_fingerprint"] = run.config(), run.fingerprint()
    record["model"]["parameters"] = count_parameters(build_model(run.recipe.model))
    accs = [98.0] * (run.recipe.epochs - len(accs)) + accs
    record["epochs"] = [dict(epoch=i + 1, lr=0.01, train_loss=0.1, train_acc=99.0, val_loss=None, val_acc=None,
                             test_loss=0.02, test_acc=a, seconds=1.0) for i, a in enumerate(accs)]
    return record


@pytest.fixture
def finals(tmp_path, monkeypatch):
    monkeypatch.setattr(best, "final_plan", lambda: (FINAL,))

    def write(last_epochs_by_seed):
        for seed, accs in last_epochs_by_seed.items():
            write_record(final_record(seed, accs), tmp_path / "cpu" / f"best-s{seed}.json")
        return best.verdict("best", tmp_path)
    return write


def test_the_goal_is_met_only_when_the_mean_and_every_seed_s_last_epochs_clear_it(finals):
    goal = goals.TRACKS["best"]
    v = finals({s: [99.62, 99.61, 99.65] for s in ex.FIVE})
    assert v.verdict == "met" and v.mean_final == pytest.approx(99.65) and v.worst_last == pytest.approx(99.61)
    v = finals({1: [goal.each_last - 0.01, 99.70, 99.70]})  # one seed dips below the bar in its last epochs
    assert v.verdict == "not met" and v.mean_final > goal.mean_final
    v = finals({s: [99.55, 99.55, 99.55] for s in ex.FIVE})  # steady, but the mean is short
    assert v.verdict == "not met"


def test_four_of_five_seeds_is_not_a_verdict(finals, tmp_path):
    finals({s: [99.7, 99.7, 99.7] for s in ex.FIVE})
    (tmp_path / "cpu" / "best-s5.json").unlink()
    v = best.verdict("best", tmp_path)
    assert v.verdict == "not yet measured" and len(v.seeds) == 4 and v.mean_final == pytest.approx(99.7)
    assert "(4 seeds so far)" in v.table().loc["mean final test accuracy", "measured"]


def test_with_no_final_plan_every_track_is_not_yet_measured(tmp_path):
    for group in goals.TRACKS:
        assert best.verdict(group, tmp_path).verdict == "not yet measured"
    assert LAST == 3 and set(goals.TRACKS) == set(ex.BUDGETS)


def test_the_public_results_are_well_formed():
    for r in field.PUBLIC_RESULTS:
        assert r.url.startswith(f"https://github.com/{r.repository}/blob/HEAD/") and r.url.endswith(".ipynb")
        assert 0 < r.parameters <= ex.BUDGETS["best"][0] and r.epochs <= ex.MAX_EPOCHS
        assert 99.0 < r.best < 100 and (r.final is None or r.final <= r.best)
        assert not math.isnan(r.best)


def test_the_final_table_has_a_row_per_complete_seed_with_its_test_accuracies(finals, tmp_path):
    finals({2: [99.5, 99.7, 99.6], 1: [99.6, 99.6, 99.55]})
    table = best.final_table("best", tmp_path)
    assert list(table["seed"]) == [1, 2]
    assert list(table["final test (%)"]) == pytest.approx([99.55, 99.6])
    assert list(table[f"worst of last {LAST} (%)"]) == pytest.approx([99.55, 99.5])
    assert list(table["best epoch (%)"]) == pytest.approx([99.6, 99.7])
    assert best.final_table("best", None).empty


def test_the_held_out_images_and_the_widest_seed_gap_of_a_round():
    from s6lib.analysis.selection import Score
    from s6lib.mnist.recipes import VALIDATION_SPLITS

    for group, rounds in ex.ROUNDS.items():
        (split,) = {e.build().validation for e in rounds[0]}
        assert best.held_out(rounds[0]) == VALIDATION_SPLITS[split][0] * 10
    a = Score("a", 100, (99.50, 99.52, 99.54), (99.5,) * 3)
    b = Score("b", 100, (99.49, 99.51, 99.55), (99.5,) * 3)
    assert selection.seed_spread([a, b]) == pytest.approx(0.06)
