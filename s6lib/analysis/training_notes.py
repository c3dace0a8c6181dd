"""Particular runs the Methods appendix explains, as numbers from their records: the one run that
took far longer than its twins, and the draw page's model beside the table's run of the same seed;
and the table of what each setting of the fast recipe does and which ablations measure it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..lab import experiments as ex
from ..lab.records import RecordError, load_record
from ..lab.runs import Run
from ..mnist.goals import TEST_IMAGES
from ..mnist.recipes import display_name, get_recipe, stored_name
from .ablations import SHOWN

SLOW = 1.5  # a run this many times the median time of its twins stands out
PRECISION_WORDS = {"bf16-autocast": "bf16", "float32": "float32"}  # engine.BF16, engine.FLOAT32 as a reader says them


def precision_word(record: dict) -> str:
    """The precision a run trained in, as the pages say it ("bf16", "float32")."""
    precision = record["engine"]["precision"]
    return PRECISION_WORDS.get(precision, precision)


def _minutes(record: dict) -> float:
    return record["seconds"] / 60


def _interval(record: dict) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(record["started_utc"]), datetime.fromisoformat(record["finished_utc"])


def _alongside(record: dict, others: Sequence[dict]) -> int:
    """How many of `others` were running at some time while `record` ran."""
    start, end = _interval(record)
    return sum(1 for o in others if _interval(o)[0] < end and start < _interval(o)[1])


def _epoch_range(records: Sequence[dict]) -> tuple[float, float]:
    seconds = [e["seconds"] for r in records for e in r["epochs"]]
    return min(seconds), max(seconds)


@dataclass(frozen=True)
class SlowRun:
    """A run of an experiment that took far longer than its twins, and what its record says about it."""
    seed: int
    minutes: float
    twin_minutes: tuple[float, ...]  # the other complete runs of the experiment
    threads: int  # torch threads of the slow run
    twin_threads: tuple[int, ...]  # distinct thread counts of the others
    loader_processes: int  # pipeline A's loader processes (0 for pipeline B)
    beside: int  # other runs of the experiment running at some time while it ran
    twins_at_once: int  # the most of the others running at the same time
    device_name: str
    epoch_seconds: tuple[float, float]  # its fastest and slowest epoch
    twin_epoch_seconds: tuple[float, float]  # the others' fastest and slowest epoch
    final: float  # its final test accuracy, %
    twin_finals: tuple[float, ...]


def slow_run(runs: Sequence[Run], key: str) -> SlowRun | None:
    """The one run of experiment `key` that took SLOW times the median time of the others, or None
    when none, or more than one, stands out (or fewer than three runs are complete)."""
    done = {r.seed: r.record for r in runs if r.key == stored_name(key) and r.complete}
    slow = {s: rec for s, rec in done.items()
            if len(done) > 2 and _minutes(rec) > SLOW * statistics.median(
                _minutes(o) for t, o in done.items() if t != s)}
    if len(slow) != 1:
        return None
    (seed, rec), = slow.items()
    twins = [o for s, o in done.items() if s != seed]
    pipeline_a = rec["config"]["recipe"]["pipeline"] == "A"
    return SlowRun(
        seed=seed, minutes=_minutes(rec), twin_minutes=tuple(sorted(_minutes(o) for o in twins)),
        threads=rec["environment"]["threads"],
        twin_threads=tuple(sorted({o["environment"]["threads"] for o in twins})),
        loader_processes=rec["config"]["num_workers"] if pipeline_a else 0,
        beside=_alongside(rec, twins),
        twins_at_once=1 + max(_alongside(o, [t for t in twins if t is not o]) for o in twins),
        device_name=rec["environment"]["device_name"], epoch_seconds=_epoch_range([rec]),
        twin_epoch_seconds=_epoch_range(twins), final=rec["epochs"][-1]["test_acc"],
        twin_finals=tuple(sorted(o["epochs"][-1]["test_acc"] for o in twins)))


@dataclass(frozen=True)
class CheckpointTwin:
    """The draw page's model against the complete run of the same recipe and seed in the tables."""
    recipe: str
    seed: int
    precision: str  # the checkpoint's, as the pages say it
    final: float  # the checkpoint run's final test accuracy, %
    twin_precision: str
    twin_final: float

    @property
    def images_apart(self) -> int:
        """How many of the test images the two final accuracies differ by."""
        return round(abs(self.final - self.twin_final) / 100 * TEST_IMAGES)


def checkpoint_twin(runs: Sequence[Run], checkpoint_record: str | Path) -> CheckpointTwin | None:
    """The checkpoint's run record beside its twin's, or None when either is missing (a chapter opened
    alone has the run records, not the model's)."""
    try:
        model = load_record(checkpoint_record)
    except (OSError, RecordError):
        return None
    recipe, seed = model["config"]["recipe"]["name"], model["config"]["seed"]
    twin = next((r.record for r in runs if r.key == recipe and r.seed == seed and r.complete), None)
    if twin is None:
        return None
    return CheckpointTwin(display_name(recipe), seed, precision_word(model), model["epochs"][-1]["test_acc"],
                          precision_word(twin), twin["epochs"][-1]["test_acc"])


# What changing each setting does, for the fast recipe's table of where its settings came from.
SETTING_EFFECTS = {
    "dropout": "drops fewer values in training: less noise, less regularisation",
    "lr": "the peak of the one-cycle schedule (the original's: its starting rate)",
    "weight_decay": "pulls every weight a little towards zero at every step",
    "nesterov": "momentum's look-ahead form",
    "schedule": "the rate rises, then falls to nearly zero, batch by batch",
    "batch_size": "more, noisier steps per epoch",
    "epochs": "the course's budget of epochs",
    "pipeline": "the same augmentation, made in batches on the device: speed only",
    "step_size": "the step schedule's; one-cycle has none",
    "gamma": "the step schedule's; one-cycle has none",
    "pct_start": "the share of all steps spent raising the rate",
}


def recipe_origins(key: str = "fast", base: str = "original", plan: str = "ablations") -> pd.DataFrame:
    """One row per setting in which recipe `key` differs from `base` (the model's dropout as "dropout"):
    both values, what the setting does, and the experiments of `plan` that change that setting."""
    recipe, base_recipe = get_recipe(key), get_recipe(base)
    changes = ex.recipe_changes(recipe, base_recipe)
    if "model" in changes:
        del changes["model"]
        changes = {f: (a, b) for f, (a, b) in ex.spec_changes(recipe.model, base_recipe.model).items()} | changes
    measured: dict[str, list[str]] = {field: [] for field in changes}
    for exp in ex.get_plan(plan):
        built = exp.build()
        touched = set(ex.recipe_changes(built, recipe)) - {"model"}
        if built.model != recipe.model:
            touched |= set(ex.spec_changes(built.model, recipe.model))
        for field in touched & set(changes):
            measured[field].append(SHOWN[exp.key][0] if exp.key in SHOWN else display_name(exp.key))
    return pd.DataFrame([{
        "setting": field, display_name(base_recipe.name): _value(old), display_name(recipe.name): _value(new),
        "what it does": SETTING_EFFECTS.get(field, ""), "measured by": ", ".join(measured[field]) or "–",
    } for field, (old, new) in changes.items()])


def _value(v) -> str:
    return "–" if v is None else f"{v:g}" if isinstance(v, float) else str(v)
