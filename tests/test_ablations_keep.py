"""The ablations chapter's "what to keep", the names its rows show, and the Net6 chapter's count of
mult-adds: each checked against the committed records or an independent computation."""

import json
import math
from pathlib import Path

import pytest
from torch import nn

from s6lib.analysis import ablations, results
from s6lib.lab import experiments as ex
from s6lib.lab.runs import load_runs
from s6lib.mnist import models

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / ex.RUNS_DIR


def finals_from_json(key: str) -> list[float]:
    """Each complete seed's final test accuracy, read straight from the records (no s6lib code)."""
    finals = {}
    for path in sorted(RUNS.glob(f"*/{key}-s*.json")):
        record = json.loads(path.read_text())
        if record["status"] == "complete" and record["config"]["recipe"]["name"] == key:
            finals.setdefault(record["config"]["seed"], record["epochs"][-1]["test_acc"])
    return list(finals.values())


@pytest.fixture(scope="module")
def rows():
    return ablations.compare_all(results.summarize(load_runs("ablations", RUNS)))


def test_what_to_keep_follows_its_rule_on_the_records(rows):
    """Keep: every seed below every baseline seed, and the means further apart than the baseline's
    best and worst seed. The records decide which experiments land where, not this test."""
    base = finals_from_json(ex.BASELINE)
    spread = max(base) - min(base)
    buckets = ablations.what_to_keep(rows)
    assert sorted(r.key for b in buckets.values() for r in b) == sorted(r.key for r in rows)
    assert ablations.seed_range(rows[0].base) == pytest.approx(spread)
    for r in rows:
        mine = finals_from_json(r.key)
        below, above = max(mine) < min(base), min(mine) > max(base)
        drop = sum(base) / len(base) - sum(mine) / len(mine)
        expected = ("keep" if below and drop > spread else "small" if below
                    else "better" if above else "unclear")
        assert r in buckets[expected], (r.key, expected)


def test_a_row_named_for_what_ran():
    """Cut at 15 epochs, the original's StepLR never lowers the rate: the row may not be shown as a step
    schedule, while the plan and the records keep their name."""
    recipe = ex.get_experiment("step-schedule").build()
    assert recipe.schedule == "step" and recipe.step_size >= recipe.epochs  # never a drop: a constant rate
    summary = next(s for s in results.summarize(load_runs("ablations", RUNS)) if s.key == "step-schedule")
    base = next(s for s in results.summarize(load_runs("ablations", RUNS)) if s.key == ex.BASELINE)
    row = ablations.compare_all([base, summary])[0]
    assert row.key == "step-schedule" and "step" not in row.name and "constant" in row.change
    table = ablations.section_table([row], row.section)
    assert table["experiment"].iloc[0].startswith(f"{row.name}: ")


def test_total_mult_adds_is_weights_biases_and_batchnorm():
    """torchinfo's total: each conv weight once per output position, each bias once per output value,
    and one per BatchNorm parameter (the Net6 chapter splits the total this way)."""
    model = models.build_model("net6")
    shapes = dict(models.layer_shapes(model))
    convs = [(n, m) for n, m in model.layers.named_children() if isinstance(m, nn.Conv2d)]
    weights = sum(m.weight.numel() * math.prod(shapes[n][1:]) for n, m in convs)
    biases = sum(math.prod(shapes[n]) for n, _ in convs)
    batchnorm = sum(p.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters())
    assert models.summary("net6").total_mult_adds == weights + biases + batchnorm
