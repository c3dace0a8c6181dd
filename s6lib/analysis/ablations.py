"""The ablations chapter's numbers: every experiment against the baseline, with its interval and
verdict, grouped into the page's four sections, and the facts of a seed that failed to train.

    rows = compare_all(results.summarize(runs))   # one Ablation per experiment but the baseline
    section_table(rows, "architecture")           # that section's table, largest difference first
    failed_seeds(rows)                            # every seed that never learned, with its experiment
    what_to_keep(rows)                            # the rows sorted by the chapter's rule for what to keep

The statistics are s6lib.analysis.comparisons'; the chapter words these numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..book.style import points
from ..lab import experiments as ex
from . import comparisons, original
from .mistakes import confusion_matrix
from .results import Summary

# The page's sections, each gathering experiment groups (s6lib.lab.experiments.GROUPS), in page order;
# SECTION_OF puts an experiment elsewhere than its group's section.
SECTIONS = {
    "architecture": ("depth", "pooling", "head", "width", "conv1x1", "batchnorm"),
    "regularisation": ("dropout",),
    "optimisation": ("optimizer", "recipe"),
    "data": ("augment", "normalize"),
}
SECTION_OF = {"no-weight-decay": "regularisation"}  # in the "recipe" group, but weight decay regularises
FAILED_BELOW = 90.0  # % final test accuracy: a seed below it never learned to tell the digits apart

# What a reader is shown for an experiment whose stored name does not say what ran (the plan's and the
# records' names stay): name -> (shown name, what it changed).
SHOWN = {
    # The original's StepLR(15, 0.1) drops the rate after epoch 15, so a 15-epoch run never drops it.
    "step-schedule": ("constant-lr", "a constant learning rate, 0.01, for all 15 epochs, in place of one-cycle"),
}


@dataclass(frozen=True)
class Ablation:
    """One experiment against the baseline."""

    summary: Summary
    base: Summary
    difference: comparisons.Difference
    section: str

    @property
    def key(self) -> str:
        return self.summary.key

    @property
    def name(self) -> str:
        """What the reader calls it: the summary's name, unless SHOWN says what ran more plainly."""
        return SHOWN.get(self.key, (self.summary.name,))[0]

    @property
    def change(self) -> str:
        return SHOWN[self.key][1] if self.key in SHOWN else self.summary.change

    @property
    def failed(self) -> tuple[tuple[int, float], ...]:
        """(seed, final test accuracy) of each seed that failed to train."""
        return tuple((seed, acc) for seed, acc in zip(self.summary.seeds, self.summary.finals) if acc < FAILED_BELOW)


def section_of(summary: Summary) -> str:
    if summary.key in SECTION_OF:
        return SECTION_OF[summary.key]
    try:
        return next(name for name, groups in SECTIONS.items() if summary.group in groups)
    except StopIteration:
        raise ValueError(f"experiment {summary.key!r} (group {summary.group!r}) is in none of the ablation "
                         f"page's sections; add its group to s6lib.analysis.ablations.SECTIONS") from None


def compare_all(summaries: Sequence[Summary], baseline: str = ex.BASELINE) -> list[Ablation]:
    """Every experiment with a complete seed against `baseline`, largest difference first (by size,
    whatever its sign); experiments with no complete seed yet are left out, and so is everything
    while the baseline has none."""
    base = next((s for s in summaries if s.key == baseline), None)
    if base is None:
        raise ValueError(f"the baseline {baseline!r} is not among the summaries given")
    if not base.n:
        return []
    rows = [Ablation(s, base, comparisons.difference(s.finals, base.finals), section_of(s))
            for s in summaries if s.key != baseline and s.n]
    return sorted(rows, key=lambda r: -abs(r.difference.diff))


def holm_adjusted(rows: Sequence[Ablation]) -> dict[str, float | None]:
    """Each experiment's p-value after Holm's correction for all the comparisons with a p-value."""
    tested = [r for r in rows if r.difference.p is not None]
    adjusted = comparisons.holm([r.difference.p for r in tested]) if tested else []
    return {r.key: None for r in rows} | {r.key: float(a) for r, a in zip(tested, adjusted)}


def expected_false(rows: Sequence[Ablation]) -> float:
    """How many of these comparisons would say "lower" or "higher" by luck alone if no change did
    anything: the sum of each one's false-alarm rate."""
    return sum(comparisons.false_alarm_rate(r.summary.n, r.base.n, r.difference.alpha)
               for r in rows if r.difference.p is not None)


def seeds_text(row: Ablation) -> str:
    """Each seed's final test accuracy (%), a failed one marked, and how many are missing."""
    failed = {seed for seed, _ in row.failed}
    text = ", ".join(f"{acc:.2f}" + (" (failed)" if seed in failed else "")
                     for seed, acc in zip(row.summary.seeds, row.summary.finals))
    s = row.summary
    return text + (f" ({s.n} of {s.planned}" + (f", {s.diverged} diverged)" if s.diverged else ")")
                   if s.n < s.planned else "")


LEVEL = f"{1 - comparisons.ALPHA:.0%}"
# style.table's kinds for section_table: these columns' text is numbers, kept on one line and
# right-aligned as numbers are
TABLE_KINDS = {"difference": "number", f"{LEVEL} interval": "number"}


def section_table(rows: Sequence[Ablation], section: str) -> pd.DataFrame:
    """One section's experiments, largest difference first: what each changes (with its parameters
    where they differ from the baseline's, and each seed's final test accuracy where a seed failed or
    is missing), the difference of the means from the baseline's in points, its 95% interval and the
    verdict. Show it with style.table(..., TABLE_KINDS)."""
    def named(r):
        s, base = r.summary, r.base
        return (f"{r.name}: {r.change}" + (f" ({s.parameters:,} parameters)" if s.parameters != base.parameters else "")
                + (f"; its seeds: {seeds_text(r)}" if r.failed or s.n < s.planned else ""))

    return pd.DataFrame([{
        "experiment": named(r), "difference": points(r.difference.diff),
        f"{LEVEL} interval": (f"{points(r.difference.low)} to {points(r.difference.high)}"
                              if r.difference.low is not None else "–"),
        "verdict": r.difference.verdict,
    } for r in rows if r.section == section])


def seed_range(summary: Summary) -> float:
    """Points between the best and the worst seed's final test accuracy: how far luck alone moved it."""
    return max(summary.finals) - min(summary.finals)


KEEP_BUCKETS = ("keep", "small", "better", "unclear", "too few")


def what_to_keep(rows: Sequence[Ablation]) -> dict[str, list[Ablation]]:
    """The rows (in their order) by the chapter's rule, each in one bucket of KEEP_BUCKETS:
    "keep": clearly lower, by more than the baseline's seed range (what the change took away is worth
    keeping); "small": clearly lower, by no more than that range; "better": clearly higher;
    "unclear": no clear difference; "too few": too few seeds to judge."""
    buckets: dict[str, list[Ablation]] = {name: [] for name in KEEP_BUCKETS}
    for r in rows:
        verdict = r.difference.verdict
        if verdict == "lower":
            bucket = "keep" if -r.difference.diff > seed_range(r.base) else "small"
        else:
            bucket = {"higher": "better", "no clear difference": "unclear"}.get(verdict, "too few")
        buckets[bucket].append(r)
    return buckets


def syllabus_table() -> pd.DataFrame:
    """The original's list, item by item, in its words, with the experiments of the plan that take it up."""
    plan = ex.get_plan("ablations")
    return pd.DataFrame([{"item": item, "in the original's words": words,
                          "experiments here": ", ".join(e.key for e in plan if item in e.answers) or "–"}
                         for item, words in original.SYLLABUS.items()])


@dataclass(frozen=True)
class FailedSeed:
    """What a failed seed's final model did, from its record: its confusion matrix on the test set
    (rows: true class, columns: predicted) and its curves."""

    key: str
    seed: int
    accuracy: float
    confusion: np.ndarray
    test_acc: tuple[float, ...]  # per epoch
    test_loss: tuple[float, ...]

    @property
    def predicted(self) -> np.ndarray:
        """Test images predicted as each class, 0-9."""
        return self.confusion.sum(0)

    @property
    def mistakes(self) -> int:
        return int(self.confusion.sum() - np.trace(self.confusion))

    @property
    def predicted_classes(self) -> list[int]:
        return [c for c in range(10) if self.predicted[c] > 0]

    @property
    def never_predicted(self) -> list[int]:
        return [c for c in range(10) if self.predicted[c] == 0]

    @property
    def mistakes_as(self) -> dict[int, int]:
        """Mistakes by the class they were predicted as (only the classes ever predicted)."""
        wrong = self.confusion.sum(0) - np.diag(self.confusion)
        return {c: int(wrong[c]) for c in self.predicted_classes}

    @property
    def loss_floor(self) -> float:
        """`loss_floor` for the classes this model never predicted."""
        return loss_floor(self.never_predicted, self.confusion.sum(1))

    @property
    def loss_floor_with_ties(self) -> float:
        """`loss_floor` if class 0 is dead too: argmax gives a tie to class 0, so a dead channel 0 still
        collects every image the live channels do not claim, and predictions of 0 cannot tell it apart."""
        return loss_floor(sorted({0, *self.never_predicted}), self.confusion.sum(1))


def loss_floor(dead: Sequence[int], per_class: Sequence[int]) -> float:
    """The lowest mean test loss (NLL on log-softmax) a model can have when the `dead` classes score
    exactly 0 on every image and no score is ever below 0 (class scores that are averaged ReLU
    outputs, as in Net6's head without BatchNorm). An image of a dead class can at best get ten
    equal scores, a loss of ln 10; any other image can get a loss near 0. `per_class`: test images
    of each class."""
    per_class = np.asarray(per_class)
    return float(per_class[list(dead)].sum() / per_class.sum() * math.log(10))


def failed_seed(record: dict, labels) -> FailedSeed:
    """The facts of one run from its record and the MNIST test labels."""
    return FailedSeed(record["config"]["recipe"]["name"], record["config"]["seed"], record["epochs"][-1]["test_acc"],
                      confusion_matrix(record, labels), tuple(e["test_acc"] for e in record["epochs"]),
                      tuple(e["test_loss"] for e in record["epochs"]))


def failed_seeds(rows: Sequence[Ablation]) -> list[tuple[str, int, float]]:
    """(experiment, seed, final test accuracy) of every failed seed among the rows."""
    return [(r.key, seed, acc) for r in rows for seed, acc in r.failed]
