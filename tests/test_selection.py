"""The tuning rounds' selection rule: validation numbers only, worst of the last 3 epochs first."""

import dataclasses
import json

import pytest

from s6lib.analysis import selection
from s6lib.analysis.selection import SelectionError, round_scores, winner
from s6lib.lab import experiments as ex
from s6lib.lab.records import write_record
from s6lib.mnist.models import build_model, count_parameters
from s6lib.mnist.recipes import RECIPES

from conftest import ROOT, make_record, val_record, write_round

RUNS = ROOT / "book" / "runs"


def test_the_worst_of_the_last_three_epochs_decides_not_one_lucky_epoch(tmp_path):
    first, second = (e.key for e in ex.ROUNDS["best"][0][:2])
    # `first` peaks at 99.9 once; `second` holds 99.5 in each of its last three epochs
    write_round(tmp_path, "best", {first: [99.0, 99.9, 99.2, 99.9], second: [99.0, 99.5, 99.5, 99.5]})
    scores = round_scores("best", 1, tmp_path)
    assert scores[0].key == second and scores[0].score == pytest.approx(99.5)
    assert next(s for s in scores if s.key == first).score == pytest.approx(99.2)
    assert winner("best", 1, tmp_path).key == second


def test_ties_go_to_the_higher_final_accuracy_then_to_fewer_parameters(tmp_path):
    a, b = (e.key for e in ex.ROUNDS["best"][0][:2])
    write_round(tmp_path, "best", {a: [99.0, 99.4, 99.5, 99.5], b: [99.0, 99.5, 99.4, 99.6]})
    assert winner("best", 1, tmp_path).key == b  # same score (99.4), higher final
    s = [selection.Score("x", 100, (99.0,), (99.0,)), selection.Score("y", 99, (99.0,), (99.0,))]
    assert selection.rank(s)[0].key == "y"


def test_a_round_with_a_missing_run_or_a_test_set_record_cannot_be_judged(tmp_path):
    write_round(tmp_path, "best", {})
    exp = ex.ROUNDS["best"][0][0]
    (tmp_path / "cpu" / f"{exp.key}-s{exp.seeds[-1]}.json").unlink()
    with pytest.raises(SelectionError, match="not finished"):
        winner("best", 1, tmp_path)
    record = make_record()  # a test-set record: no validation split
    with pytest.raises(SelectionError, match="no validation split"):
        selection.score(exp, [record] * len(exp.seeds))


def test_a_candidate_over_its_budget_is_never_a_winner(tmp_path):
    write_round(tmp_path, "best-small", {}, parameters=8_000)
    with pytest.raises(SelectionError, match="fewer than 8,000"):
        winner("best-small", 1, tmp_path)


def test_every_candidate_is_within_its_track_and_evaluates_on_the_validation_split():
    for group, rounds in ex.ROUNDS.items():
        limit, _ = ex.BUDGETS[group]
        for n, rnd in enumerate(rounds, 1):
            assert len({e.key for e in rnd}) == len(rnd)
            for exp in rnd:
                recipe = exp.build()
                assert exp.group == group and exp.why and exp.seeds == ex.TUNING_SEEDS
                assert recipe.validation == "val10k" and recipe.epochs <= ex.MAX_EPOCHS
                assert count_parameters(build_model(recipe.model)) <= limit, exp.key
                assert exp in ex.PLANS[f"round-{n}"]


def test_a_record_whose_config_is_not_the_planned_candidates_is_not_counted(tmp_path):
    write_round(tmp_path, "best", {})
    exp = ex.ROUNDS["best"][0][0]
    path = tmp_path / "cpu" / f"{exp.key}-s{exp.seeds[0]}.json"
    record = json.loads(path.read_text())
    record["config"]["recipe"]["lr"] = 0.5  # trained with another learning rate than the plan's
    record["config_fingerprint"] = ex.fingerprint(record["config"])
    path.write_text(json.dumps(record))
    with pytest.raises(SelectionError, match=f"{exp.key} seed {exp.seeds[0]} has no complete record"):
        winner("best", 1, tmp_path)


def test_each_round_starts_from_the_winner_the_rule_picked_in_the_committed_records():
    """Round n's first candidate is round n-1's winner, as the rule reads the records on main (a
    round is only planned once the one before it is finished), and the others change it."""
    for group, rounds in ex.ROUNDS.items():
        for n in range(2, len(rounds) + 1):
            picked = winner(group, n - 1, RUNS)
            assert rounds[n - 1][0].key == picked.key, f"{group} round {n} does not start from {picked.key}"
            assert rounds[n - 1][0] in rounds[n - 2], "the carried-over candidate is the earlier round's own"


def test_each_final_is_the_finals_rule_s_pick_on_all_the_training_images():
    """Plan "best" trains, for each track, the candidate the finals rule picks from the records on main:
    the same recipe but for the data (no validation split, so all 60,000 training images and the test
    set) and the seeds (1-5), within the track's budgets."""
    for group, rounds in ex.ROUNDS.items():
        picked = ex.WINNERS[group]
        key, number = selection.final_pick(group, RUNS)
        assert picked in rounds[number - 1] and picked.key == key
        final = ex.FINALS[group]
        assert final.key == group and final in ex.PLANS["best"] and final.seeds == ex.FIVE
        assert final.build() == dataclasses.replace(picked.build(), name=group, validation=None)
        recipe = final.build()
        assert count_parameters(build_model(recipe.model)) <= ex.BUDGETS[group][0]
        assert recipe.epochs <= ex.MAX_EPOCHS


@pytest.mark.parametrize("lead, replaced", [(0.05, False), (0.3, True)])
def test_a_later_round_s_pick_trains_the_finals_only_when_it_leads_by_more_than_the_seed_spread(
        tmp_path, lead, replaced):
    rounds = ex.ROUNDS["best"]
    for number in range(1, len(rounds) + 1):
        write_round(tmp_path, "best", {}, number=number)
    carried, challenger = rounds[2][:2]
    # the carried-over winner's seeds hold 99.3, 99.4 and 99.5: a spread of 0.2 points, a score of 99.4
    for exp, worst in ((carried, (99.3, 99.4, 99.5)), (challenger, (99.4 + lead,) * 3)):
        for seed, acc in zip(exp.seeds, worst):
            write_record(val_record(exp, seed, [acc] * 3), tmp_path / "cpu" / f"{exp.key}-s{seed}.json")
    spread = selection.seed_spread(round_scores("best", 3, tmp_path))
    assert selection.leads("best", 3, tmp_path) is (lead > spread) is replaced
    key, number = selection.final_pick("best", tmp_path)
    assert (key, number) == ((challenger.key, 3) if replaced else (winner("best", 2, tmp_path).key, 2))


def test_an_unfinished_later_round_leaves_the_finals_to_round_2(tmp_path):
    for number in (1, 2):
        write_round(tmp_path, "best", {}, number=number)
    assert selection.final_pick("best", tmp_path) == (winner("best", 2, tmp_path).key, 2)


# --- the quick recipe's round (issue 28) ----------------------------------------------------------


def write_quick_round(tmp_path, accs_by_key):
    for exp in ex.QUICK_ROUND:
        for seed in exp.seeds:
            accs = accs_by_key.get(exp.key, [99.0, 99.1, 99.2])
            write_record(val_record(exp, seed, accs), tmp_path / "cpu" / f"{exp.key}-s{seed}.json")


def test_the_quick_round_is_within_its_budgets_and_on_the_validation_split():
    """Net6 or Net6 with dropout 0.05, at most 20,000 parameters, at most 15 epochs, seeds 101-103,
    evaluated on the validation split; and the round tries fewer epochs than the fast recipe's."""
    assert ex.PLANS["quick-round"] == ex.QUICK_ROUND
    for exp in ex.QUICK_ROUND:
        recipe = exp.build()
        assert exp.group == "quick" and exp.why and exp.seeds == ex.TUNING_SEEDS
        assert recipe.model in ex.QUICK_MODELS and recipe.validation == "val10k"
        assert selection.LAST < recipe.epochs < ex.get_experiment("fast").build().epochs
        assert count_parameters(build_model(recipe.model)) <= ex.QUICK_BUDGET[0]


def test_the_quick_rule_picks_the_fewest_epochs_that_hold_the_bar_on_every_seed(tmp_path):
    e4, e6, e6_low, e8 = (e.key for e in ex.QUICK_ROUND)
    # e4 misses the bar in one epoch; e6 and e6-lr-0.02 meet it (the latter higher); e8 meets it too
    write_quick_round(tmp_path, {e4: [99.6, 99.39, 99.6], e6: [99.4, 99.45, 99.5], e6_low: [99.5, 99.5, 99.5],
                                 e8: [99.7, 99.7, 99.7]})
    pick = selection.quick_round(tmp_path)
    assert pick.winner.score.key == e6_low and pick.meets and pick.shortfall == 0
    assert [c.score.key for c in pick.candidates] == [e4, e6, e6_low, e8]


def test_when_no_quick_candidate_meets_the_bar_the_closest_is_picked_and_the_gap_stated(tmp_path):
    e4, e6, e6_low, e8 = (e.key for e in ex.QUICK_ROUND)
    write_quick_round(tmp_path, {e6: [99.3, 99.35, 99.5], e8: [99.35, 99.36, 99.38]})
    pick = selection.quick_round(tmp_path)
    assert pick.winner.score.key == e8 and not pick.meets
    assert pick.shortfall == pytest.approx(99.4 - 99.35)
    (tmp_path / "cpu" / f"{e8}-s101.json").unlink()
    with pytest.raises(SelectionError, match=f"{e8} seed 101"):
        selection.quick_round(tmp_path)


def test_the_quick_round_s_pick_is_the_rule_s_from_the_committed_records_on_all_the_training_images():
    """Plan "short" trains the candidate the quick rule picks from the records on main, as it is but for
    the data (no validation split: all 60,000 training images and the test set) and the seeds (1-5); it
    is called quick only where it met the bar."""
    pick = selection.quick_round(RUNS)
    assert ex.QUICK_WINNER.key == pick.winner.score.key and ex.QUICK_WINNER in ex.QUICK_ROUND
    name = "quick" if pick.meets else "short"
    assert RECIPES[name] == dataclasses.replace(ex.QUICK_WINNER.build(), name=name, validation=None)
    assert ex.get_plan(name) == (ex.get_experiment(name),) and ex.get_experiment(name).seeds == ex.FIVE
    assert ex.get_experiment(name).build() == RECIPES[name]
