"""The best recipes (issue 18) for the pages: each tuning round on the validation split, the final
runs on the test set, and the verdicts against the goals, all from the run records.

The rounds are judged by s6lib.selection's rule; the final runs (plan "best") train on all 60,000
training images with seeds 1-5, and only they see the test set.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import experiments as ex
from .runs import load_runs
from .selection import LAST, SelectionError, round_scores


@dataclass(frozen=True)
class Goal:
    mean_final: float  # mean final test accuracy over the seeds, %, at least
    each_last: float  # every seed, in each of its last LAST epochs, %, at least

    def words(self) -> str:
        return (f"mean final test accuracy ≥ {self.mean_final:.2f}% over seeds 1–5, and every seed "
                f"≥ {self.each_last:.2f}% in each of its last {LAST} epochs")


GOALS = {"best": Goal(99.60, 99.50), "best-small": Goal(99.50, 99.40)}


def round_table(group: str, number: int, runs_dir: str | Path, device_class: str = "cpu") -> pd.DataFrame:
    """One row per candidate of the round, ranked by the rule: what it changes, why, its parameters,
    each seed's worst validation accuracy in its last epochs, and the score (their mean)."""
    scores = round_scores(group, number, runs_dir, device_class)
    exps = {e.key: e for e in ex.ROUNDS[group][number - 1]}
    rows = []
    for rank, s in enumerate(scores, 1):
        exp = exps[s.key]
        rows.append({"rank": rank, "candidate": s.key, "change": exp.change, "why": exp.why,
                     "parameters": s.parameters,
                     **{f"seed {seed}": worst for seed, worst in zip(exp.seeds, s.worst_last)},
                     "score": s.score, "mean final": s.mean_final})
    return pd.DataFrame(rows)


def rounds_done(group: str, runs_dir: str | Path | None, device_class: str = "cpu") -> list[int]:
    """The rounds of the track whose every run has a complete record (judged rounds), in order."""
    done = []
    for number in range(1, len(ex.ROUNDS[group]) + 1):
        try:
            round_scores(group, number, runs_dir, device_class)
        except SelectionError:
            break
        done.append(number)
    return done


@dataclass(frozen=True)
class Verdict:
    group: str
    seeds: int  # complete final runs
    mean_final: float | None
    worst_last: float | None  # the lowest test accuracy of any seed in its last LAST epochs
    state: str  # "met", "not met", "not yet measured"

    def sentence(self) -> str:
        goal = GOALS[self.group]
        if self.state == "not yet measured":
            return (f"Not yet measured: {self.seeds} of 5 final runs of `{self.group}` have a complete record. "
                    f"The goal is {goal.words()}.")
        return (f"Over seeds 1–5, `{self.group}` ended at a mean test accuracy of {self.mean_final:.2f}%, and the "
                f"lowest accuracy of any seed in its last {LAST} epochs was {self.worst_last:.2f}%. The goal, "
                f"{goal.words()}, is **{self.state}**.")


def verdict(group: str, runs_dir: str | Path | None) -> Verdict:
    """The final runs of `group` against its goal: met or not met only once all five seeds are complete."""
    runs = [r for r in load_runs(final_plan(), runs_dir) if r.key == group] if group in final_keys() else []
    complete = [r.record for r in runs if r.complete]
    if not runs or len(complete) < len(runs):
        return Verdict(group, len(complete), None, None, "not yet measured")
    finals = [rec["epochs"][-1]["test_acc"] for rec in complete]
    worst = min(row["test_acc"] for rec in complete for row in rec["epochs"][-LAST:])
    goal = GOALS[group]
    mean = statistics.fmean(finals)
    met = mean >= goal.mean_final and worst >= goal.each_last
    return Verdict(group, len(complete), mean, worst, "met" if met else "not met")


def final_keys() -> set[str]:
    return {e.key for e in final_plan()}


def final_plan() -> tuple[ex.Experiment, ...]:
    return ex.PLANS.get("best", ())
