"""The ablations and going-further chapters' numbers: the exact permutation statistics against
brute force, Holm's correction against its definition, the verdicts of the committed records
recomputed from their JSON, the failed seed's facts, and the exercises' answers, each checked by a
computation of its own."""

import itertools
import json
import math

import numpy as np
import pytest

from s6lib.analysis import ablations, comparisons, results
from s6lib.lab import experiments as ex
from s6lib.lab.runs import load_runs
from s6lib.mnist import goals
from s6lib.mnist.models import build_model
from s6lib.mnist.specs import NetSpec, get_spec

from conftest import ROOT

RUNS = ROOT / ex.RUNS_DIR


# --- the statistics, against brute force ------------------------------------------------------


def brute_p(a, b) -> float:
    """Two-sided exact permutation p-value of the difference of means, by listing every split."""
    pooled, n, m = np.array(list(a) + list(b), dtype=float), len(a), len(b)
    chosen = np.array(list(itertools.combinations(range(n + m), n)))
    sums = pooled[chosen].sum(1)
    stats = sums / n - (pooled.sum() - sums) / m
    observed = np.mean(a) - np.mean(b)
    tol = 1e-9
    return min(1.0, 2 * min(np.mean(stats >= observed - tol), np.mean(stats <= observed + tol)))


def brute_interval(a, b, alpha=0.05):
    """The shifts δ, on a 0.005-point grid, whose shifted split the brute-force test does not reject."""
    grid = np.round(np.arange(-1.5, 1.5, 0.005), 3)
    kept = [d for d in grid if brute_p([x - d for x in a], b) > alpha]
    return min(kept), max(kept)


@pytest.mark.parametrize("seed", range(6))
def test_the_exact_permutation_test_and_its_interval_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    a = list(np.round(99.4 + rng.normal(0, 0.06, 3) + rng.choice([0, -0.15]), 2))
    b = list(np.round(99.5 + rng.normal(0, 0.04, 5), 2))
    d = comparisons.difference(a, b)
    assert d.p == pytest.approx(brute_p(a, b))
    assert d.diff == pytest.approx(np.mean(a) - np.mean(b))
    assert d.splits == math.comb(8, 3)
    # three against five at the 5% level: only the two cleanest splits are rejected, so the interval
    # runs between the extreme seed-to-seed differences, and the grid search agrees to its step
    assert (d.low, d.high) == pytest.approx((min(a) - max(b), max(a) - min(b)))
    low, high = brute_interval(a, b)
    assert low == pytest.approx(d.low, abs=0.005) and high == pytest.approx(d.high, abs=0.005)
    assert (d.verdict == "no clear difference") == (d.low <= 0 <= d.high) == (d.p > comparisons.ALPHA)


def test_five_against_five_rejects_more_splits_and_narrows_the_interval():
    a, b = [99.30, 99.41, 99.35, 99.38, 99.44], [99.50, 99.47, 99.55, 99.43, 99.52]
    d = comparisons.difference(a, b)
    assert d.p == pytest.approx(brute_p(a, b))
    low, high = brute_interval(a, b)
    assert low == pytest.approx(d.low, abs=0.005) and high == pytest.approx(d.high, abs=0.005)
    assert d.high < max(a) - min(b)  # no longer the extreme difference: 5 v 5 rejects 12 of 252 splits


def test_too_few_seeds_give_no_interval_and_off_grid_values_are_refused():
    d = comparisons.difference([99.5, 99.6], [99.3, 99.4, 99.35])  # smallest p 2/10 > 0.05
    assert (d.verdict, d.low, d.p) == ("too few seeds", None, None)
    with pytest.raises(ValueError, match="recorded to 0.01%"):
        comparisons.difference([99.501, 99.6, 99.55], [99.3, 99.4, 99.35, 99.2, 99.1])


def brute_holm(p, alpha=0.05) -> list[bool]:
    """Holm's step-down procedure as stated: reject in order from the smallest while p_(i) <= alpha/(m-i+1)."""
    order, m = sorted(range(len(p)), key=lambda i: p[i]), len(p)
    rejected = [False] * m
    for rank, i in enumerate(order):
        if p[i] > alpha / (m - rank):
            break
        rejected[i] = True
    return rejected


@pytest.mark.parametrize("seed", range(5))
def test_holm_adjusted_p_values_reject_exactly_what_the_procedure_rejects(seed):
    p = list(np.random.default_rng(seed).uniform(0, 0.08, 9) ** 2)
    adjusted = comparisons.holm(p)
    for alpha in (0.01, 0.05, 0.1):
        assert [a <= alpha for a in adjusted] == brute_holm(p, alpha)
    assert all(0 <= a <= 1 for a in adjusted) and all(a >= q for a, q in zip(adjusted, p))


def test_false_alarm_rate_smallest_p_and_seeds_needed_by_enumeration():
    # the share of all splits whose own p-value is <= 0.05, listed one by one on distinct values
    for n_a, n_b in ((3, 5), (5, 5), (4, 5)):
        values = list(2.0 ** np.arange(n_a + n_b))
        ps = [brute_p([values[i] for i in c], [values[i] for i in range(n_a + n_b) if i not in c])
              for c in itertools.combinations(range(n_a + n_b), n_a)]
        assert comparisons.false_alarm_rate(n_a, n_b) == pytest.approx(np.mean(np.array(ps) <= 0.05))
        assert comparisons.smallest_p(n_a, n_b) == pytest.approx(min(ps))
    needed = comparisons.seeds_needed(29, 5)
    assert 2 / math.comb(needed + 5, needed) <= 0.05 / 29 < 2 / math.comb(needed + 4, needed - 1)


# --- the ablations page, from the committed records --------------------------------------------


@pytest.fixture(scope="module")
def ablation_runs():
    return load_runs("ablations", RUNS)


def finals_from_json(key: str) -> dict[int, float]:
    """Each seed's final test accuracy read straight from the committed records (no s6lib code)."""
    out = {}
    for path in sorted((RUNS / "cpu").glob(f"{key}-s*.json")) + sorted((RUNS / "gpu").glob(f"{key}-s*.json")):
        record = json.loads(path.read_text())
        if record["status"] == "complete" and record["config"]["recipe"]["name"] == key:
            out.setdefault(record["config"]["seed"], record["epochs"][-1]["test_acc"])
    return out


def test_every_ablation_has_a_section_and_the_verdicts_follow_the_records(ablation_runs):
    rows = ablations.compare_all(results.summarize(ablation_runs))
    keys = {e.key for e in ex.get_plan("ablations")} - {ex.BASELINE}
    assert {r.key for r in rows} == keys and all(r.section in ablations.SECTIONS for r in rows)
    assert [abs(r.difference.diff) for r in rows] == sorted((abs(r.difference.diff) for r in rows), reverse=True)
    base = list(finals_from_json(ex.BASELINE).values())
    for r in rows:
        mine = list(finals_from_json(r.key).values())
        clean = max(mine) < min(base) or min(mine) > max(base)  # the only splits 3 v 5 can call clear
        assert (r.difference.verdict in ("lower", "higher")) == clean, r.key
        assert r.difference.diff == pytest.approx(np.mean(mine) - np.mean(base))
    tables = [ablations.section_table(rows, s) for s in ablations.SECTIONS]
    assert sum(len(t) for t in tables) == len(rows)


def test_every_failed_seed_is_read_from_its_record(ablation_runs):
    """Whatever seeds failed in these records (none, in a fork whose runs all trained), each one's facts
    are its record's: what it predicted, its mistakes, and the loss floor its dead classes set."""
    from s6lib.analysis import mistakes
    from s6lib.mnist.data import DataError

    rows = ablations.compare_all(results.summarize(ablation_runs))
    failed = ablations.failed_seeds(rows)
    if not failed:
        pytest.skip("no seed failed in these records")
    try:
        labels = mistakes.mnist_test_labels()
    except DataError as err:
        pytest.skip(f"MNIST is not here: {err}")
    for key, seed, final in failed:
        record = json.loads(next((RUNS / d / f"{key}-s{seed}.json") for d in ("gpu", "cpu")
                                 if (RUNS / d / f"{key}-s{seed}.json").exists()).read_text())
        assert final == pytest.approx(record["epochs"][-1]["test_acc"], abs=0.005)
        fact = ablations.failed_seed(record, labels)
        predicted = labels.copy()
        for index, cls in record["misclassified"]:
            predicted[index] = cls
        counts = np.bincount(predicted, minlength=10)
        assert fact.predicted.tolist() == counts.tolist()
        assert fact.never_predicted == [c for c in range(10) if counts[c] == 0]
        wrong_as = np.bincount([cls for _, cls in record["misclassified"]], minlength=10)
        assert fact.mistakes_as == {c: int(wrong_as[c]) for c in range(10) if counts[c]}
        assert fact.mistakes == len(record["misclassified"])
        dead = np.isin(labels, fact.never_predicted).mean()
        assert fact.loss_floor == pytest.approx(dead * math.log(10)) and fact.loss_floor <= fact.test_loss[-1]
        dead_or_zero = np.isin(labels, [0, *fact.never_predicted]).mean()
        assert fact.loss_floor_with_ties == pytest.approx(dead_or_zero * math.log(10))


def test_the_dead_class_floor_is_the_minimum_of_the_loss():
    """The floor is what log-softmax gives ten equal scores; any scores >= 0 do no better."""
    import torch

    per_class = np.array([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    floor = ablations.loss_floor([0, 1], per_class)
    assert floor == pytest.approx((980 + 1135) / per_class.sum() * math.log(10))
    scores = torch.rand(1000, 10) * 3
    scores[:, 0] = 0  # the dead class scores 0, the others anything >= 0
    loss = torch.nn.functional.cross_entropy(scores, torch.zeros(1000, dtype=torch.long), reduction="none")
    assert loss.min().item() >= math.log(10) - 1e-6
    assert torch.nn.functional.cross_entropy(torch.zeros(1, 10), torch.tensor([0])).item() == pytest.approx(
        math.log(10))


def test_the_exercise_answers_match_independent_computations():
    assert comparisons.smallest_p(4, 5) == pytest.approx(2 / 126)  # 9 choose 4 = 126 splits
    spec = NetSpec(channels=(8, 12, 16, 16, 10), pool_after=(1, 3), dropout_after=(2, 4), dropout=0.05)
    by_hand = sum(9 * c_in * c_out + c_out + 2 * c_out
                  for c_in, c_out in zip((1, 8, 12, 16, 16), (8, 12, 16, 16, 10)))
    assert sum(p.numel() for p in build_model(spec).parameters()) == by_hand < goals.SMALL_PARAMETERS
    narrow = comparisons.difference(list(finals_from_json("width-narrow").values()),
                                    list(finals_from_json(ex.BASELINE).values()))
    images_worse = (max(finals_from_json(ex.BASELINE).values()) - min(finals_from_json("width-narrow").values())) * 100
    assert -narrow.low * 100 == pytest.approx(images_worse)  # the interval's far end, in test images
    record = json.loads((RUNS / "cpu" / "small-squeeze-s5.json").read_text())
    accs = [e["test_acc"] for e in record["epochs"]]
    assert results.min_last(record) == min(accs[-3:])
    assert results.first_reach(record) == next(i + 1 for i, a in enumerate(accs) if a >= 99.4)


# --- going further: the strict bar, recomputed from the records --------------------------------


def test_going_further_verdicts_follow_the_last_three_epochs_bar():
    runs = load_runs("small", RUNS)
    for exp in ex.get_plan("small"):
        claim = results.small_claim(runs, exp.key)
        recs = [json.loads(p.read_text()) for p in sorted((RUNS / "cpu").glob(f"{exp.key}-s*.json"))]
        recs = [r for r in recs if r["status"] == "complete" and r["config"]["recipe"]["name"] == exp.key]
        params = sum(p.numel() for p in build_model(get_spec(exp.build().model)).parameters())
        steady = all(min(e["test_acc"] for e in r["epochs"][-3:]) >= 99.4 for r in recs)
        epochs = all(len(r["epochs"]) <= 15 for r in recs)
        expected = "met" if len(recs) >= 5 and steady and epochs and params < 8000 else "not met"
        assert claim.verdict == expected, exp.key


# --- the terms these chapters introduce ----------------------------------------------------------

TERMS = {
    "Confidence interval": r"\bconfidence intervals?\b",
    "Dead ReLU": r"\bdead ReLUs?\b",
    "Holm correction": r"\bHolm('s)? correction\b",
    "Multiple comparisons": r"\bmultiple comparisons\b",
    "p-value": r"\bp-values?\b",
    "Permutation test": r"\bpermutation tests?\b",
}


@pytest.mark.parametrize("term", sorted(TERMS))
def test_the_statistics_terms_are_linked_where_the_book_first_uses_them(term, monkeypatch):
    import test_glossary  # its reader of the chapters' prose, with these terms added to its list

    monkeypatch.setitem(test_glossary.REQUIRED, term, TERMS[term])
    test_glossary.test_every_required_term_is_defined(term)
    test_glossary.test_every_required_term_is_linked_and_explained_where_the_book_first_uses_it(term)
