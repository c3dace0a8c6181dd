"""The best recipes (issue 18) for the pages: each tuning round on the validation split, the final
runs on the test set, and the verdicts against the goals, all from the run records.

The rounds are judged by s6lib.selection's rule; the final runs (plan "best") train on all 60,000
training images with seeds 1-5, and only they see the test set.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import experiments as ex
from .field import PUBLIC_RESULTS
from .models import build_model, count_parameters
from .results import summarize
from .runs import load_runs
from .recipes import VALIDATION_SPLITS
from .selection import LAST, Score, SelectionError, round_scores
from .style import points


@dataclass(frozen=True)
class Goal:
    mean_final: float  # mean final test accuracy over the seeds, %, at least
    each_last: float  # every seed, in each of its last LAST epochs, %, at least

    def words(self) -> str:
        return (f"mean final test accuracy ≥ {self.mean_final:.2f}% over seeds 1–5, and every seed "
                f"≥ {self.each_last:.2f}% in each of its last {LAST} epochs")


GOALS = {"best": Goal(99.60, 99.50), "best-small": Goal(99.50, 99.40)}
# Where each track started: the book's own best result in its budget before the tuning (test set, seeds 1-5).
STARTING_POINT = {"best": "fast", "best-small": "small-deep"}


def rule_markdown() -> str:
    """The selection rule (s6lib.selection) in words, with its numbers from the code."""
    return (f"For each seed, take the **lowest** validation accuracy of the last {LAST} epochs; a candidate's "
            f"score is the mean of these over its seeds. The highest score wins; equal scores go to the higher "
            f"mean final validation accuracy, then to fewer parameters. A candidate over its track's budget "
            f"(best: {ex.BUDGETS['best'][1]}; best-small: {ex.BUDGETS['best-small'][1]}) or over "
            f"{ex.MAX_EPOCHS} epochs cannot win, and a round is judged only once every run of it has a "
            f"complete record.")


def round_sentence(group: str, number: int, runs_dir: str | Path | None, device_class: str = "cpu") -> str:
    """Where round `number` of the track stands: its winner by the rule, or how many of its runs are done."""
    candidates = ex.ROUNDS[group][number - 1]
    try:
        scores = round_scores(group, number, runs_dir, device_class)
    except SelectionError:
        runs = load_runs(candidates, runs_dir, prefer=(device_class,)) if runs_dir is not None else []
        done = sum(r.complete for r in runs)
        planned = sum(len(e.seeds) for e in candidates)
        return (f"**Round {number}** ({len(candidates)} candidates × {len(candidates[0].seeds)} seeds) is not "
                f"finished: {done} of {planned} runs have a complete record. It is judged once all have.")
    top, second = scores[0], scores[1]
    return (f"**Round {number}**: the rule picks `{top.key}`, with a score of {top.score:.2f}% (each seed's worst "
            f"of its last {LAST} validation epochs, averaged) against {second.score:.2f}% for the next, "
            f"`{second.key}`. {margin_sentence(top, second, scores, _held_out(candidates))}")


def _held_out(candidates) -> int:
    """Validation images of the round's split."""
    (split,) = {e.build().validation for e in candidates}
    per_class, _ = VALIDATION_SPLITS[split]
    return per_class * 10


def seed_spread(scores: list[Score]) -> float:
    """The widest gap, in points, between one candidate's own seeds (worst of the last epochs) in a round."""
    return max(max(s.worst_last) - min(s.worst_last) for s in scores)


def _starting_point(group: str, runs_dir: str | Path | None):
    """The Summary of the track's starting point over its test-set seeds, or None before it has records."""
    start = ex.get_experiment(STARTING_POINT[group])
    return next((s for s in summarize(load_runs([start], runs_dir)) if s.n), None)


def margin_sentence(top: Score, second: Score, scores: list[Score], held: int) -> str:
    """How far the winner is ahead, in validation images per seed, against the spread of one candidate's
    seeds: a lead smaller than that spread is a near-tie the rule breaks, not evidence."""
    lead = (top.score - second.score) / 100 * held
    ahead = sum(a > b for a, b in zip(top.worst_last, second.worst_last))
    spread = seed_spread(scores)
    if top.score - second.score < spread:
        reading = "less than", "close to a tie, which the rule breaks"
    else:
        reading = "more than", "a lead beyond the seeds' own noise"
    return (f"The lead is {lead:.1f} of the {held:,} validation images per seed, {reading[0]} the widest gap between "
            f"one candidate's own seeds in this round, {spread:.2f} points ({spread / 100 * held:.0f} images): "
            f"{reading[1]}; the winner is ahead on {ahead} of {len(top.worst_last)} seeds.")


def lessons_markdown(group: str, runs_dir: str | Path | None) -> str:
    """What the judged rounds of the track teach, from their records: whether every lead was a near-tie,
    and how each weight-averaging candidate fared, with how far back its average reaches."""
    judged = rounds_done(group, runs_dir)
    said = []
    rounds = [round_scores(group, n, runs_dir) for n in judged]
    if rounds and all(r[0].score - r[1].score < seed_spread(r) for r in rounds):
        said.append("Every lead above is smaller than the widest gap between one candidate's own seeds: the rounds "
                    "rank near-ties, and the top of several near-equal scores flatters its winner a little (the "
                    "problem of many comparisons, met in the ablations chapter). What counts is the final runs' "
                    "test accuracy, not a round's score.")
    for number, scores in zip(judged, rounds):
        for exp in ex.ROUNDS[group][number - 1]:
            recipe = exp.build()
            if recipe.ema is None:
                continue
            rank = [s.key for s in scores].index(exp.key) + 1
            per_epoch = math.ceil((60_000 - _held_out([exp])) / recipe.batch_size)
            back = 1 / (1 - recipe.ema)
            place = "last" if rank == len(scores) else f"{rank} of {len(scores)}"
            said.append(f"The weight average `{exp.key}` ranked {place} in round {number}.")
            if rank == len(scores):
                said.append(f"A likely reason: by the last epoch the one-cycle schedule has brought the learning "
                            f"rate close to 0, so little noise is left to average, while an average with a decay of "
                            f"{recipe.ema} per step still weighs about the last 1/(1 − {recipe.ema}) = {back:,.0f} "
                            f"steps, {back / per_epoch:.1f} epochs of {per_epoch} steps, from before the rate had "
                            f"come down.")
    return " ".join(said)


def offset_sentence(group: str, runs_dir: str | Path | None) -> str:
    """The same recipe on the validation split and on the test set: round 1's reference candidate against
    the track's starting point, so that a round's scores are not read against the goal's test numbers."""
    reference = ex.ROUNDS[group][0][0]
    start = STARTING_POINT[group]
    try:
        val = next(s for s in round_scores(group, 1, runs_dir) if s.key == reference.key)
    except SelectionError:
        return ""
    test = _starting_point(group, runs_dir)
    if test is None:
        return ""
    return (f"The same recipe scores lower on the validation split than on the test set: `{start}` ended at a "
            f"mean of {val.mean_final:.2f}% on the {_held_out([reference]):,} validation images (`{reference.key}`, "
            f"trained on the other 50,000 images, seeds {ex.TUNING_SEEDS[0]}–{ex.TUNING_SEEDS[-1]}) and at "
            f"{statistics.fmean(test.finals):.2f}% on the test set (seeds 1–5, all 60,000 training images). So the "
            f"rounds' scores are compared with each other, never with the goal.")


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


def final_markdown(group: str) -> str:
    """What the track's final runs train: the rule's pick of the last round, on all the training images."""
    picked, recipe = ex.WINNERS[group], ex.FINALS[group].build()
    size = f"{count_parameters(build_model(recipe.model)):,} parameters"
    what = picked.change if size in picked.change else f"{picked.change}, {size}"
    return (f"`{group}` is the rule's pick of the last round, `{picked.key}`: {what}. Its final runs train it "
            f"on all 60,000 training images with seeds 1–5 and measure it on the 10,000 test images after each "
            f"of its {recipe.epochs} epochs.")


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
    summary = _starting_point(group, runs_dir)
    if summary is not None:
        rows.append({"result": f"this book, {summary.name} (starting point)", "parameters": summary.parameters,
                     "epochs": ex.get_experiment(start).build().epochs, "seeds": summary.n,
                     "final test (%)": statistics.fmean(summary.finals), "best epoch (%)": None,
                     "worst of last 3 (%)": min(summary.min_last)})
    v = verdict(group, runs_dir)
    if v.state != "not yet measured":
        final = next(e for e in final_plan() if e.key == group)
        rows.append({"result": f"this book, {group}", "parameters": count_parameters(build_model(final.build().model)),
                     "epochs": final.build().epochs, "seeds": v.seeds, "final test (%)": v.mean_final,
                     "best epoch (%)": None, "worst of last 3 (%)": v.worst_last})
    return pd.DataFrame(rows)


def sources_markdown() -> str:
    """The public results' notebooks, linked."""
    return "\n".join(f"- [{r.repository}, `{r.notebook}`]({r.url}): {r.parameters:,} parameters"
                      for r in PUBLIC_RESULTS)


def show_rounds(group: str, runs_dir: str | Path | None) -> None:
    """Each round of the track on the page: where it stands, its candidates with what each changes and
    why, and once judged its table (validation accuracy, %)."""
    from IPython.display import Markdown, display

    from .style import table

    display(Markdown(offset_sentence(group, runs_dir)))
    judged = rounds_done(group, runs_dir)
    for number, candidates in enumerate(ex.ROUNDS[group], 1):
        display(Markdown(round_sentence(group, number, runs_dir)))
        display(Markdown("\n".join(f"- `{e.key}`: {e.change}. {e.why}" for e in candidates)))
        if number in judged:
            display(table(round_table(group, number, runs_dir).drop(columns=["change", "why"]), default="acc",
                          scroll=True))
    display(Markdown(lessons_markdown(group, runs_dir)))


def loop_sentence(group: str, runs_dir: str | Path | None) -> str:
    """The winner on the validation split beside its final runs on the test set, once they are measured."""
    v = verdict(group, runs_dir)
    if v.state == "not yet measured":
        return ""
    picked, rounds = ex.WINNERS[group], ex.ROUNDS[group]
    number = max(n for n, candidates in enumerate(rounds, 1) if picked in candidates)
    try:
        val = next(s for s in round_scores(group, number, runs_dir) if s.key == picked.key)
    except SelectionError:
        return ""
    said = (f"On the validation split `{picked.key}` scored {val.score:.2f}% by the rule, with a mean final accuracy "
            f"of {val.mean_final:.2f}%; on the test set its five final runs end at a mean of {v.mean_final:.2f}%.")
    start = STARTING_POINT[group]
    before = _starting_point(group, runs_dir)
    if before is None:
        return said
    mean, worst = statistics.fmean(before.finals), min(before.min_last)
    return said + (f" The starting point, `{start}`, ended at a mean of {mean:.2f}% on its seeds 1–5, the lowest of "
                   f"its last {LAST} epochs {worst:.2f}%: the tuning moved the mean by {points(v.mean_final - mean)} "
                   f"points and the lowest epoch by {points(v.worst_last - worst)}.")



def show_final(group: str, runs_dir: str | Path | None) -> None:
    """The track's final runs on the page: what they train, the verdict, and each seed's test accuracies."""
    from IPython.display import Markdown, display

    from .style import table

    display(Markdown(final_markdown(group)))
    display(Markdown(verdict(group, runs_dir).sentence()))
    finals = final_table(group, runs_dir)
    if len(finals):
        display(table(finals.drop(columns=["device"]), {"seed": "count", "minutes": lambda m: f"{m:.0f}"},
                      scroll=True))
        display(Markdown(f"Each run trained on {' and '.join(sorted(set(finals['device'])))}. The best epoch is "
                         f"shown only to set beside the public results, which report theirs; nothing was chosen by "
                         f"it. " + loop_sentence(group, runs_dir)))
