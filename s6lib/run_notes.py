"""What the training chapter says about particular runs, from their records: why one run took
longer than its twins, and why the draw page's model scores differently from the table's run of
the same seed. Each returns one sentence, or None when the records give it nothing to explain.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from pathlib import Path
from typing import Sequence

from .records import RecordError, load_record
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
    done = {r.seed: r.record for r in runs if r.key == key and r.complete}
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
    return (f"The model of the page *Try Net6: draw a digit* is a separate run of the `{recipe}` recipe, seed "
            f"{seed}, trained in {precision_word(model)} (final test accuracy {ours:.2f}%); the table's seed {seed} "
            f"trained in {precision_word(twin)} ({theirs:.2f}%). The "
            f"same seed in another precision rounds every step a little differently, and here they end {same}.")
