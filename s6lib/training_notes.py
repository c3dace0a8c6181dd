"""What the training chapter says beyond the records' tables: why one run took longer than its
twins, why the draw page's model scores differently from the table's run of the same seed (each one
sentence from the records, or None when they give nothing to explain), and what each setting of the
fast recipe does and which ablations measure it.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from pathlib import Path
from typing import Sequence

import pandas as pd

from . import experiments as ex
from .records import RecordError, load_record
from .recipes import display_name, get_recipe, stored_name
from .runs import Run

SLOW = 1.5  # a run this many times the median time of its twins gets a sentence
TEST_IMAGES = 10_000
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


def slow_run_note(runs: Sequence[Run], key: str) -> str | None:
    """Why a run of experiment `key` took far longer than the others (SLOW times their median), in the
    terms its record gives: torch threads, loader processes, runs beside it, and its epoch times."""
    done = {r.seed: r.record for r in runs if r.key == stored_name(key) and r.complete}
    slow = {s: rec for s, rec in done.items()
            if len(done) > 2 and _minutes(rec) > SLOW * statistics.median(
                _minutes(o) for t, o in done.items() if t != s)}
    if len(slow) != 1:
        return None  # nothing stands out, or too many for one sentence
    (seed, rec), = slow.items()
    twins = [o for s, o in done.items() if s != seed]
    lo, hi = _epoch_range([rec])
    twin_lo, twin_hi = _epoch_range(twins)
    twin_minutes = sorted(round(_minutes(o)) for o in twins)
    twin_accs = sorted(o["epochs"][-1]["test_acc"] for o in twins)
    threads = {o["environment"]["threads"] for o in twins}
    beside = _alongside(rec, twins)
    company = "alone" if beside == 0 else f"beside {beside} other run{'s' * (beside > 1)} of the table"
    at_once = 1 + max(_alongside(o, [t for t in twins if t is not o]) for o in twins)
    others = "the others ran" + (f" {at_once} at a time," if at_once > 1 else "")
    workers = rec["config"]["num_workers"]
    loader = f" and {workers} loader processes" if rec["config"]["recipe"]["pipeline"] == "A" and workers else ""
    spread = f"{twin_minutes[0]}" + (f"–{twin_minutes[-1]}" if twin_minutes[-1] != twin_minutes[0] else "")
    return (f"Seed {seed} took {round(_minutes(rec))} minutes against {spread} "
            f"for the others. It ran {company}, with {rec['environment']['threads']} torch threads{loader} on "
            f"{rec['environment']['device_name']}, where {others} with "
            f"{' or '.join(map(str, sorted(threads)))} thread{'s' * (threads != {1})} each; and its epochs took "
            f"from {lo:.0f} to {hi:.0f} s, where every epoch of the others took {twin_lo:.0f} to {twin_hi:.0f} s. "
            f"The same amount of work per epoch taking {hi / lo:.0f} times as long from one epoch to another "
            "points to other work on the machine while it ran, not to the recipe. Its final accuracy, "
            f"{rec['epochs'][-1]['test_acc']:.2f}%, lies among the others' ({twin_accs[0]:.2f}–{twin_accs[-1]:.2f}%).")


def precision_note(runs: Sequence[Run], keys: Sequence[str] = ("original", "fast")) -> str:
    """Which precision each experiment's complete runs trained in, from their records."""
    parts = []
    for key in keys:
        done = [r.record for r in runs if r.key == stored_name(key) and r.complete]
        if done:
            words = " and ".join(sorted({precision_word(rec) for rec in done}))
            count = f"{len(done)} runs" if len(done) > 1 else "one run"
            parts.append(f"{count} of the `{display_name(key)}` recipe{' trained' * (not parts)} in {words}")
    return f"The {' and the '.join(parts)}." if parts else "No run is recorded yet."


def checkpoint_note(runs: Sequence[Run], checkpoint_record: str | Path) -> str | None:
    """The draw page's model against the table's run of the same recipe and seed: why two numbers."""
    try:
        model = load_record(checkpoint_record)
    except (OSError, RecordError):
        return None  # a chapter opened alone has the run records, not the model's
    recipe, seed = model["config"]["recipe"]["name"], model["config"]["seed"]
    twin = next((r.record for r in runs if r.key == recipe and r.seed == seed and r.complete), None)
    if twin is None:
        return None
    ours, theirs = model["epochs"][-1]["test_acc"], twin["epochs"][-1]["test_acc"]
    images = round(abs(ours - theirs) / 100 * TEST_IMAGES)
    same = ("the same final accuracy" if images == 0 else
            f"{abs(ours - theirs):.2f} points apart, {images} test image{'s' * (images != 1)}")
    return (f"The model of the page *Try Net6: draw a digit* is a separate run of the `{display_name(recipe)}` recipe, seed "
            f"{seed}, trained in {precision_word(model)} (final test accuracy {ours:.2f}%); the table's seed {seed} "
            f"trained in {precision_word(twin)} ({theirs:.2f}%). The "
            f"same seed in another precision rounds every step a little differently, and here they end {same}.")


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
            measured[field].append(display_name(exp.key))
    return pd.DataFrame([{
        "setting": field, display_name(base_recipe.name): _value(old), display_name(recipe.name): _value(new),
        "what it does": SETTING_EFFECTS.get(field, ""), "measured by": ", ".join(measured[field]) or "–",
    } for field, (old, new) in changes.items()])


def _value(v) -> str:
    return "–" if v is None else f"{v:g}" if isinstance(v, float) else str(v)
