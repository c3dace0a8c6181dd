"""How a tuning round's winner is chosen: from validation numbers alone, by a rule fixed before it ran.

The rule, for the candidates of one round (s6lib.lab.experiments.ROUNDS), each trained with
the same seeds on the validation split:

1. A candidate's score is, for each seed, the lowest validation accuracy of its last `LAST` epochs,
   averaged over the seeds. One good epoch earns nothing: the score asks for accuracy that holds.
2. The highest score wins; equal scores go to the higher mean final validation accuracy, then to
   the candidate with fewer parameters.
3. A candidate over its track's parameter budget or epoch cap, a record without validation
   numbers, or a round with a run missing, is an error, never a winner.

The test set plays no part: a record with a validation split holds no test numbers (s6lib.lab.records).
Every tuning rule of the book is here: the rounds' (above), the finals rule that decides which pick
trains on the test set, the quick recipe's, and the first tuning's, which fixed the fast recipe.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..lab import experiments as ex
from ..lab.experiments import BUDGETS, MAX_EPOCHS, QUICK_BUDGET, QUICK_MODELS, QUICK_ROUND, ROUNDS, Experiment
from ..lab.records import RecordError
from ..lab.runs import load_runs
from ..mnist.goals import LAST, TARGET
from .results import Summary


class SelectionError(ValueError):
    """A round that cannot be judged yet, or a candidate the rule may not pick; the message says why."""


@dataclass(frozen=True)
class Score:
    key: str
    parameters: int
    worst_last: tuple[float, ...]  # per seed, in seed order: lowest validation accuracy of the last LAST epochs
    final: tuple[float, ...]  # per seed: validation accuracy after the last epoch

    @property
    def score(self) -> float:
        return statistics.fmean(self.worst_last)

    @property
    def mean_final(self) -> float:
        return statistics.fmean(self.final)

    def rank_key(self) -> tuple:
        """Larger is better: score, then mean final accuracy, then fewer parameters."""
        return self.score, self.mean_final, -self.parameters


def score(exp: Experiment, records: list[dict]) -> Score:
    """The rule's numbers for one candidate from its records (one per seed, in seed order)."""
    limit, words = QUICK_BUDGET if exp.group == "quick" else BUDGETS[exp.group]
    worst, final, parameters = [], [], set()
    for seed, record in zip(exp.seeds, records):
        where = f"{exp.key} seed {seed}"
        if record["status"] != "complete":
            raise SelectionError(f"{where}: the run is {record['status']}, not complete")
        if not record["config"]["recipe"].get("validation"):
            raise SelectionError(f"{where}: the run has no validation split, so the rule cannot judge it")
        rows = record["epochs"]
        if len(rows) > MAX_EPOCHS:
            raise SelectionError(f"{where}: {len(rows)} epochs, over the cap of {MAX_EPOCHS}")
        worst.append(min(row["val_acc"] for row in rows[-LAST:]))
        final.append(rows[-1]["val_acc"])
        parameters.add(record["model"]["parameters"])
    if len(records) != len(exp.seeds):
        raise SelectionError(f"{exp.key}: {len(records)} records for {len(exp.seeds)} seeds")
    (count,) = parameters
    if count > limit:
        raise SelectionError(f"{exp.key}: {count:,} parameters, but its track allows {words}")
    return Score(exp.key, count, tuple(worst), tuple(final))


def rank(scores: list[Score]) -> list[Score]:
    """The candidates, best first, by the rule."""
    return sorted(scores, key=Score.rank_key, reverse=True)


def round_scores(group: str, number: int, runs_dir: str | Path, device_class: str = "cpu") -> list[Score]:
    """Every candidate of round `number` (from 1) of track `group`, scored from its records in
    `runs_dir`/`device_class` (one kind of machine judges a whole round) and ranked best first.
    SelectionError while a run is missing or its record is not the planned run's."""
    rounds = ROUNDS[group]
    if not 1 <= number <= len(rounds):
        raise SelectionError(f"track {group!r} has rounds 1 to {len(rounds)}, not {number}")
    return rank([score(exp, _records(exp, runs_dir, device_class, f"round {number} of {group!r}"))
                 for exp in rounds[number - 1]])


def _records(exp: Experiment, runs_dir: str | Path, device_class: str, judged: str) -> list[dict]:
    """Every planned run's record of `exp`; SelectionError naming what cannot be `judged` yet."""
    try:
        found = load_runs([exp], runs_dir, prefer=(device_class,))
    except RecordError as err:
        raise SelectionError(str(err)) from None
    missing = [f"{exp.key} seed {run.seed}" for run in found if not run.complete]
    if missing:
        raise SelectionError(f"{judged} is not finished in {device_class}/: "
                             f"{', '.join(missing)} has no complete record with the planned config")
    return [run.record for run in found]


def winner(group: str, number: int, runs_dir: str | Path, device_class: str = "cpu") -> Score:
    return round_scores(group, number, runs_dir, device_class)[0]


def seed_spread(scores: list[Score]) -> float:
    """The widest gap, in points, between one candidate's own seeds (worst of the last epochs) in a round."""
    return max(max(s.worst_last) - min(s.worst_last) for s in scores)


# --- the first tuning: the fast recipe's rule -----------------------------------------------------------
#
# The tuning plan (experiments.TUNING) chose the fast recipe before the validation split existed, on
# seeds 101-103 of the test set, by its own rule written before it ran: the highest worst epoch among
# every seed's last LAST, then the higher mean final accuracy. It stays as it was judged.


@dataclass(frozen=True)
class Choice:
    winner: str  # the tuning experiment chosen
    ranking: tuple[str, ...]  # every candidate with all its seeds complete, best first
    incomplete: tuple[str, ...]  # candidates left out: not every seed has a complete record


def tuning_table(summaries: Sequence[Summary]) -> pd.DataFrame:
    """The candidates tried before the fast recipe was fixed: what each changed, each seed's final
    test accuracy, the mean, and the worst epoch among every seed's last LAST."""
    seeds = sorted({seed for s in summaries for seed in ex.get_experiment(s.key).seeds})
    rows = []
    for s in summaries:
        finals = dict(zip(s.seeds, s.finals))
        rows.append({"candidate": s.key, "change": s.change,
                     **{f"seed {seed}": finals.get(seed) for seed in seeds},
                     "mean (%)": s.mean, f"worst of last {LAST} (%)": min(s.min_last) if s.n else None})
    return pd.DataFrame(rows)


def choose(summaries: Sequence[Summary]) -> Choice:
    """Apply the tuning rule (the Methods appendix says it in words: the highest worst epoch among
    every seed's last LAST, then the higher mean) to the tuning plan's summaries (candidates with every
    planned seed complete)."""
    ready = [s for s in summaries if s.n and s.n == s.planned]
    if not ready:
        raise ValueError("no candidate has all its seeds complete")
    ranked = sorted(ready, key=lambda s: (-min(s.min_last), -s.mean, s.key))
    return Choice(ranked[0].key, tuple(s.key for s in ranked), tuple(s.key for s in summaries if s not in ready))


# --- which pick trains the final runs -----------------------------------------------------------------
#
# The finals rule, committed before round 3 ran: each track's final runs (seeds 1-5, all 60,000
# training images, the test set) train round 2's pick. A later round's pick replaces it only when it
# is not the candidate carried over from the round before and its score leads that candidate's by
# more than the round's `seed_spread`: a lead inside the seeds' own noise buys no new test-set runs.
FINALS_FROM_ROUND = 2


def leads(group: str, number: int, runs_dir: str | Path, device_class: str = "cpu") -> bool:
    """True when round `number`'s pick beats the carried-over candidate by more than the round's seed spread."""
    scores = round_scores(group, number, runs_dir, device_class)
    carried = next(s for s in scores if s.key == ROUNDS[group][number - 1][0].key)
    return scores[0].key != carried.key and scores[0].score - carried.score > seed_spread(scores)


def final_pick(group: str, runs_dir: str | Path, device_class: str = "cpu") -> tuple[str, int]:
    """The candidate whose recipe the track's final runs train, and the round it won, by the finals
    rule over the judged rounds (a round not yet finished changes nothing)."""
    number = FINALS_FROM_ROUND
    pick = winner(group, number, runs_dir, device_class).key
    for later in range(FINALS_FROM_ROUND + 1, len(ROUNDS[group]) + 1):
        try:
            if leads(group, later, runs_dir, device_class):
                number, pick = later, winner(group, later, runs_dir, device_class).key
        except SelectionError:
            break
    return pick, number


# --- the quick recipe: the fewest epochs to the course's strict bar ----------------------------------
#
# The rule, committed before the candidates of experiments.QUICK_ROUND ran:
# 1. A candidate meets the bar when each of its seeds holds a validation accuracy >= goals.TARGET
#    (99.4%) in each of its last LAST epochs: its `lowest`, the lowest of those epochs over all
#    seeds, is >= TARGET. The bar is the course's, applied to the validation split unchanged.
# 2. Among the candidates that meet it, the one with the fewest epochs wins; equal epochs go to the
#    higher score (as in `rank`), then the higher mean final accuracy.
# 3. When none meets it, the candidate closest to it (the highest `lowest`; then fewer epochs) is
#    picked for the final runs but does not meet the bar: `shortfall` says by how many points.
# Candidates must use Net6 or Net6 with dropout 0.05, within 20,000 parameters and MAX_EPOCHS.


@dataclass(frozen=True)
class QuickScore:
    score: Score
    epochs: int

    @property
    def lowest(self) -> float:
        return min(self.score.worst_last)

    @property
    def meets(self) -> bool:
        return self.lowest >= TARGET


@dataclass(frozen=True)
class QuickPick:
    winner: QuickScore
    candidates: tuple[QuickScore, ...]  # every candidate, in plan order

    @property
    def meets(self) -> bool:
        return self.winner.meets

    @property
    def shortfall(self) -> float:
        """Points the winner's lowest epoch lies under the bar (0 when it meets it)."""
        return max(0.0, TARGET - self.winner.lowest)


def quick_score(exp: Experiment, records: list[dict]) -> QuickScore:
    """The quick rule's numbers for one candidate: the tuning score and its epochs."""
    recipe = exp.build()
    if recipe.model not in QUICK_MODELS:
        raise SelectionError(f"{exp.key}: model {recipe.model!r}; the quick recipe trains "
                             f"{' or '.join(QUICK_MODELS)}")
    return QuickScore(score(exp, records), recipe.epochs)


def quick_pick(candidates: list[QuickScore]) -> QuickPick:
    """The quick rule's pick among scored candidates (see the rule above)."""
    meeting = [c for c in candidates if c.meets]
    if meeting:
        best = min(meeting, key=lambda c: (c.epochs, -c.score.score, -c.score.mean_final))
    else:
        best = max(candidates, key=lambda c: (c.lowest, -c.epochs, c.score.score))
    return QuickPick(best, tuple(candidates))


def quick_round(runs_dir: str | Path, device_class: str = "cpu") -> QuickPick:
    """The quick round judged from its records in `runs_dir`/`device_class`; SelectionError while a
    run is missing or its record is not the planned run's."""
    return quick_pick([quick_score(exp, _records(exp, runs_dir, device_class, "the quick round"))
                       for exp in QUICK_ROUND])
