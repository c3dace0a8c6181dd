"""The best recipes for the pages: each tuning round on the validation split, the final
runs on the test set, and the verdicts against the goals, all from the run records.

The rounds are judged by s6lib.analysis.selection's rule; the final runs (plan "best") train on all 60,000
training images with seeds 1-5, and only they see the test set.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..lab import experiments as ex
from ..lab.runs import load_runs
from ..mnist.goals import TRACKS
from ..mnist.recipes import VALIDATION_SPLITS
from .field import PUBLIC_RESULTS
from .results import Claim, Summary, claim, model_size, summarize
from .selection import LAST, SelectionError, round_scores

# Where each track started: the book's own best result in its budget before the tuning (test set, seeds 1-5).
STARTING_POINT = {"best": "fast", "best-small": "small-deep"}


def held_out(candidates: Sequence[ex.Experiment]) -> int:
    """Validation images of a round's split (its candidates share one)."""
    (split,) = {e.build().validation for e in candidates}
    per_class, _ = VALIDATION_SPLITS[split]
    return per_class * 10


def starting_point(group: str, runs_dir: str | Path | None) -> Summary | None:
    """The Summary of the track's starting point over its test-set seeds, or None before it has records."""
    start = ex.get_experiment(STARTING_POINT[group])
    return next((s for s in summarize(load_runs([start], runs_dir)) if s.n), None)


def round_table(group: str, number: int, runs_dir: str | Path, device_class: str = "cpu") -> pd.DataFrame:
    """One row per candidate of the round, ranked by the rule: what it changes, why, its parameters,
    each seed's worst validation accuracy in its last epochs, and the score (their mean)."""
    scores = round_scores(group, number, runs_dir, device_class)
    exps = {e.key: e for e in ex.ROUNDS[group][number - 1]}
    rows = []
    for rank, s in enumerate(scores, 1):
        exp = exps[s.key]
        rows.append({"rank": rank, "candidate": s.key, "change": exp.change, "why": exp.why,
                     "score": s.score, "mean final": s.mean_final,
                     **{f"worst, seed {seed}": worst for seed, worst in zip(exp.seeds, s.worst_last)},
                     "parameters": s.parameters})
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


def verdict(group: str, runs_dir: str | Path | None) -> Claim:
    """The final runs of track `group` against its goal (goals.TRACKS)."""
    return claim(load_runs(final_plan(), runs_dir), group, TRACKS[group])


def final_table(group: str, runs_dir: str | Path | None) -> pd.DataFrame:
    """One row per complete final run of the track: its seed, final test accuracy, the worst of its last
    LAST epochs and its best epoch (%), and its training time on the machine that ran it."""
    runs = [r for r in load_runs(final_plan(), runs_dir) if r.key == group and r.complete] if runs_dir else []
    return pd.DataFrame([{"seed": r.seed, "final test (%)": r.record["epochs"][-1]["test_acc"],
                          f"worst of last {LAST} (%)": min(e["test_acc"] for e in r.record["epochs"][-LAST:]),
                          "best epoch (%)": max(e["test_acc"] for e in r.record["epochs"]),
                          "minutes": sum(e["seconds"] for e in r.record["epochs"]) / 60,
                          "device": r.record["environment"]["device_name"]} for r in runs],
                        columns=["seed", "final test (%)", f"worst of last {LAST} (%)", "best epoch (%)", "minutes",
                                 "device"])


def final_keys() -> set[str]:
    return {e.key for e in final_plan()}


def final_plan() -> tuple[ex.Experiment, ...]:
    return ex.PLANS.get("best", ())


def field_table(group: str, runs_dir: str | Path | None) -> pd.DataFrame:
    """The public results beside this book's: where the track started (the records of seeds 1-5) and
    its final runs once measured. Test accuracies, %; the public ones are single runs."""
    rows = [{"result": f"{r.repository} ({r.note})" if r.note else r.repository, "parameters": r.parameters,
             "epochs": r.epochs, "seeds": 1, "final test (%)": r.final, "best epoch (%)": r.best,
             "worst of last 3 (%)": None} for r in PUBLIC_RESULTS]
    start = STARTING_POINT[group]
    summary = starting_point(group, runs_dir)
    if summary is not None:
        rows.append({"result": f"this book, {summary.name} (starting point)", "parameters": summary.parameters,
                     "epochs": ex.get_experiment(start).build().epochs, "seeds": summary.n,
                     "final test (%)": statistics.fmean(summary.finals), "best epoch (%)": None,
                     "worst of last 3 (%)": min(summary.min_last)})
    v = verdict(group, runs_dir)
    if v.verdict != "not yet measured":
        final = next(e for e in final_plan() if e.key == group)
        rows.append({"result": f"this book, {group}", "parameters": model_size(final.build().model)[0],
                     "epochs": final.build().epochs, "seeds": len(v.seeds), "final test (%)": v.mean_final,
                     "best epoch (%)": None, "worst of last 3 (%)": v.worst_last})
    return pd.DataFrame(rows)
