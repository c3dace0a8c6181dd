"""From run records to the numbers and tables the Part 2 chapters state: per-run numbers,
tables, per-experiment summaries and the headline claims.
(The chapters put these numbers into words, in their own prose.)

The chapters call these functions and print what they return; no number in
their prose is typed by hand. A planned run (s6lib/lab/experiments.py) may have no
record yet: it is then reported as "not run yet", never filled in.

    runs = load_runs("training", locate_runs().path)   # s6lib.lab.runs
    summarize(runs)                # one Summary per experiment
    headline(runs).verdict         # "met", "not met" or "not yet measured"
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..lab import experiments as ex
from ..lab.records import EPOCH, load_record
from ..lab.runs import Run
from ..mnist import goals
from ..mnist.goals import LAST, TARGET, Goal
from ..mnist.recipes import display_name, stored_name
from ..mnist.specs import get_spec
from . import original
from .comparisons import Difference, difference

# --- per-record numbers ------------------------------------------------------------------------


def final_acc(record: dict) -> float:
    return record["epochs"][-1]["test_acc"]


def min_last(record: dict, k: int = LAST) -> float:
    """Lowest test accuracy over the last `k` epochs."""
    return min(row["test_acc"] for row in record["epochs"][-k:])


def best_epoch(record: dict) -> int:
    """The (first) epoch with the highest test accuracy, 1-based."""
    accs = [row["test_acc"] for row in record["epochs"]]
    return accs.index(max(accs)) + 1


def first_reach(record_or_accs, target: float = TARGET) -> int | None:
    """First epoch (1-based) whose test accuracy is >= target; None if none is."""
    accs = record_or_accs if not isinstance(record_or_accs, dict) else [r["test_acc"] for r in record_or_accs["epochs"]]
    return next((i + 1 for i, a in enumerate(accs) if a >= target), None)


def experiment(key: str) -> ex.Experiment:
    """An experiment by its reader's name ("original") or its key ("seed")."""
    return ex.get_experiment(stored_name(key))


def device_label(record: dict) -> str:
    env = record["environment"]
    return f"{ex.device_class(record).upper()}: {env['device_name']}"


# --- tables ---------------------------------------------------------------------------------------


PRECISION_NAMES = {"bf16-autocast": "bf16"}  # a record's engine.precision as a table says it


def seed_table(runs: Sequence[Run], key: str) -> pd.DataFrame:
    """One row per planned seed of experiment `key`: its final test accuracy, the worst of its last
    epochs, its best epoch, when it first reached TARGET, minutes, device and the precision it trained
    in (bf16 autocast or float32, from the record's engine); missing numbers as None."""
    rows = []
    for run in (r for r in runs if r.key == stored_name(key)):
        r = run.record if run.complete else None
        rows.append({
            "seed": run.seed,
            "final test acc (%)": final_acc(r) if r else None,
            f"worst of last {LAST} (%)": min_last(r) if r else None,
            "best (%)": max(e["test_acc"] for e in r["epochs"]) if r else None,
            "at epoch": best_epoch(r) if r else None,
            f"first ≥ {TARGET:g}%": first_reach(r) if r else None,
            "minutes": round((r["seconds"] or 0) / 60) if r else None,
            "device": run.device_class.upper() if r else run.status,
            "precision": PRECISION_NAMES.get(r["engine"]["precision"], r["engine"]["precision"]) if r else None,
        })
    return pd.DataFrame(rows)


SEED_TABLE_KINDS = {"at epoch": "count", f"first ≥ {TARGET:g}%": "count", "minutes": "count", "seed": "count"}


def original_log_table() -> pd.DataFrame:
    """The original's 20 logged test accuracies, ten epochs to a row, to fit a page."""
    accs = original.ORIGINAL_LOG["test_acc"]
    rows = [{"epochs": f"{start + 1}–{start + 10}", **{f"+{k}": accs[start + k - 1] for k in range(1, 11)}}
            for start in range(0, len(accs), 10)]
    return pd.DataFrame(rows)


def recipe_table(*keys: str) -> pd.DataFrame:
    """The settings of one or more experiments' recipes, one row per setting, side by side; the
    augmentation's fields as "augment.x" rows, settings a recipe does not use ("–") left as they are."""
    recipes = {display_name(stored_name(key)): ex.flat_recipe(experiment(key).build()) for key in keys}
    settings = [name for name in next(iter(recipes.values())) if name != "name"]
    return pd.DataFrame([{"setting": name, **{shown: _short(flat[name]) for shown, flat in recipes.items()}}
                         for name in settings])


def recipe_diff_table(key: str, base_key: str) -> pd.DataFrame:
    """The settings in which experiment `key`'s recipe differs from `base_key`'s, side by side."""
    a, b = experiment(key).build(), experiment(base_key).build()
    changes = ex.recipe_changes(a, b)
    key, base_key = display_name(a.name), display_name(b.name)
    return pd.DataFrame([{"setting": name, base_key: _short(old), key: _short(new)}
                         for name, (old, new) in changes.items()])


@dataclass(frozen=True)
class Summary:
    """The numbers of one experiment over its complete runs."""

    key: str
    group: str
    change: str
    model: str
    parameters: int
    rf: int  # receptive field of the last conv layer, in input pixels
    planned: int  # seeds planned
    seeds: tuple[int, ...]  # the complete seeds, in plan order
    finals: tuple[float, ...]  # final test accuracy of each complete seed
    min_last: tuple[float, ...]  # lowest of the last LAST epochs, per complete seed
    best_epochs: tuple[int, ...]
    first_reach: tuple[int | None, ...]  # first epoch >= TARGET per complete seed
    devices: tuple[str, ...]  # device labels of the records used
    statuses: tuple[str, ...]  # status of each planned run

    @property
    def name(self) -> str:
        """What a reader calls the experiment ("original" for the stored "seed")."""
        return display_name(self.key)

    @property
    def n(self) -> int:
        return len(self.finals)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.finals) if self.finals else None

    @property
    def std(self) -> float | None:
        """Sample standard deviation over seeds (None below two seeds)."""
        return statistics.stdev(self.finals) if self.n >= 2 else None

    @property
    def diverged(self) -> int:
        return sum(st == "diverged" for st in self.statuses)

    @property
    def incomplete(self) -> int:
        """Runs with a record that is not complete: running, interrupted or diverged."""
        return sum(st not in ("complete", "not run yet") for st in self.statuses)

    @property
    def reached(self) -> int:
        return sum(e is not None for e in self.first_reach)

    @property
    def device_classes(self) -> set[str]:
        return {d.split(":")[0].lower() for d in self.devices}


def model_size(model: str) -> tuple[int, int]:
    """(parameters, receptive field of the last 3×3 conv) of the model variant `model`, counted on the
    network torch builds. torch is imported here, not with the module: reading records needs none."""
    from ..mnist.models import build_model, count_parameters
    from ..mnist.receptive_field import last_conv_rf

    network = build_model(model)
    return count_parameters(network), last_conv_rf(network)


def summarize(runs: Sequence[Run]) -> list[Summary]:
    """One Summary per experiment, in plan order."""
    by_key: dict[str, list[Run]] = {}
    for run in runs:
        by_key.setdefault(run.key, []).append(run)
    out = []
    for key, group in by_key.items():
        exp, recipe = group[0].planned.experiment, group[0].planned.recipe
        parameters, rf = model_size(recipe.model)
        done = [r.record for r in group if r.complete]
        out.append(Summary(
            key=key, group=exp.group, change=exp.change, model=recipe.model, parameters=parameters,
            rf=rf, planned=len(group),
            seeds=tuple(r["config"]["seed"] for r in done),
            finals=tuple(final_acc(r) for r in done), min_last=tuple(min_last(r) for r in done),
            best_epochs=tuple(best_epoch(r) for r in done), first_reach=tuple(first_reach(r) for r in done),
            devices=tuple(sorted({device_label(r.record) for r in group if r.record is not None})),
            statuses=tuple(r.status for r in group),
        ))
    return out


def _short(v) -> str:
    """A setting's value as a table shows it: "–" for none, floats without trailing zeros."""
    if v is None:
        return "–"
    if isinstance(v, tuple):
        return "(" + ", ".join(_short(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    return f"{v:g}" if isinstance(v, float) else str(v)

# --- bf16 or float32 on the CPU ----------------------------------------------------------------------

PRECISION_CHECK = Path("checks") / "cpu-float32"  # under the runs folder: float32 twins of bf16 CPU runs
PRECISION_KEY = "tune-base"  # the check runs the recipe before tuning on the tuning seeds


@dataclass(frozen=True)
class PrecisionCheck:
    seeds: tuple[int, ...]
    bf16: tuple[float, ...]  # final test accuracy of each seed's bf16 run (cpu/)
    float32: tuple[float, ...]  # ... and of its float32 twin (checks/cpu-float32/)
    comparison: Difference  # bf16 against float32, seed for seed
    bf16_epoch_seconds: tuple[float, ...] = ()  # each run's mean seconds per epoch
    float32_epoch_seconds: tuple[float, ...] = ()

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"seed": self.seeds, "bf16 final test acc (%)": self.bf16,
                             "float32 final test acc (%)": self.float32,
                             "bf16 s/epoch": self.bf16_epoch_seconds,
                             "float32 s/epoch": self.float32_epoch_seconds})

def precision_check(runs_dir: Path | None, key: str = PRECISION_KEY) -> PrecisionCheck:
    """The bf16 CPU runs of `key` against their float32 twins, seed by seed (complete pairs only; a
    record whose config is not the planned run's, or whose precision is not the one its folder says,
    is left out)."""
    pairs = []
    for planned in ex.planned_runs([ex.get_experiment(key)]) if runs_dir is not None else []:
        found = {}
        for precision, folder in (("bf16-autocast", Path(runs_dir) / "cpu"),
                                  ("float32", Path(runs_dir) / PRECISION_CHECK)):
            path = folder / planned.path
            record = load_record(path) if path.exists() else None
            if (record and record["status"] == "complete" and record["engine"]["precision"] == precision
                    and record["config_fingerprint"] == planned.fingerprint()):
                found[precision] = record
        if len(found) == 2:
            bf16, float32 = found["bf16-autocast"], found["float32"]
            pairs.append((planned.seed, final_acc(bf16), final_acc(float32), epoch_seconds(bf16),
                          epoch_seconds(float32)))
    columns = [tuple(column) for column in zip(*pairs)] if pairs else [()] * 5
    seeds, bf16, float32, bf16_s, float32_s = columns
    return PrecisionCheck(seeds, bf16, float32, difference(bf16, float32), bf16_s, float32_s)


def epoch_seconds(record: dict) -> float:
    """A run's mean wall time per epoch (training and test evaluation)."""
    return statistics.fmean(row["seconds"] for row in record["epochs"])


def design_table(keys: Sequence[str]) -> pd.DataFrame:
    """The layout of experiments' models, blocks numbered from 1 as the layers are named (conv1,
    pool2, ...): conv channels, max-pools, 1×1 transitions, dropout, parameters, the receptive field
    of the last 3×3 conv."""
    rows = []
    for key in keys:
        recipe = experiment(key).build()
        spec, (parameters, rf) = get_spec(recipe.model), model_size(recipe.model)
        blocks = lambda indices: ", ".join(str(i + 1) for i in indices) or "none"  # noqa: E731
        rows.append({
            "experiment": display_name(recipe.name),
            "conv channels": ", ".join(map(str, spec.channels)),
            "max-pool after": blocks(spec.pool_after),
            "1×1 after": ", ".join(f"{b + 1} (to {c})" for b, c in spec.transitions) or "none",
            "dropout": f"{spec.dropout:g} after {blocks(spec.dropout_after)}" if spec.dropout else "none",
            "parameters": parameters,
            "RF": rf,
        })
    return pd.DataFrame(rows)


# --- the headline claims ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    name: str
    required: str
    measured: str
    passed: bool | None  # None: not measured yet
    final: bool = False  # a failure that more seeds cannot undo


@dataclass(frozen=True)
class Claim:
    experiment: str
    model: str
    parameters: int
    seeds: tuple[int, ...]  # complete seeds measured
    planned: int
    criteria: tuple[Criterion, ...]
    verdict: str  # "met", "not met", "not yet measured"
    devices: tuple[str, ...]
    mean_final: float | None  # over the complete seeds so far
    worst_last: float | None  # the lowest test accuracy of any complete seed in its last LAST epochs

    def table(self):
        mark = {True: "yes", False: "no", None: "not measured"}
        return pd.DataFrame([{"criterion": c.name, "required": c.required, "measured": c.measured,
                              "passed": mark[c.passed]} for c in self.criteria]).set_index("criterion")


def _measured(fmt: str, n: int, enough: int, value) -> str:
    if value is None:
        return "–"
    text = fmt.format(value)
    return text if n >= enough else f"{text} ({n} seed{'s' * (n != 1)} so far)"


def claim(runs: Sequence[Run], key: str, goal: Goal) -> Claim:
    """The records of experiment `key` among `runs` against `goal`: "met" once enough seeds are complete
    and every criterion passes; "not met" as soon as a criterion fails that more seeds cannot undo (a seed
    under the bar, the budgets), or once enough seeds are in and one fails; else "not yet measured"."""
    mine = [r for r in runs if r.key == stored_name(key)]
    if not mine:
        raise ValueError(f"no planned runs of experiment {key!r} among the runs given")
    recipe = mine[0].planned.recipe
    params = model_size(recipe.model)[0]
    done = [r.record for r in mine if r.complete]
    n, enough = len(done), len(done) >= goal.seeds
    mean = statistics.fmean(final_acc(r) for r in done) if done else None
    worst = min(min_last(r) for r in done) if done else None
    criteria = [Criterion("seeds", f"≥ {goal.seeds}", str(n), enough)]
    if goal.mean_final is not None:
        criteria.append(Criterion("mean final test accuracy", f"≥ {goal.mean_final:.2f}%",
                                  _measured("{:.3f}%", n, goal.seeds, mean),
                                  mean >= goal.mean_final if enough else None))
    every_ok = worst is None or worst >= goal.each_last
    criteria += [
        Criterion(f"every seed, each of its last {LAST} epochs", f"≥ {goal.each_last:.2f}%",
                  _measured("lowest {:.2f}%", n, goal.seeds, worst),
                  False if not every_ok else (True if enough else None), final=True),
        Criterion("epochs", f"≤ {goal.epochs}", str(recipe.epochs), recipe.epochs <= goal.epochs, final=True),
        Criterion("parameters", goal.parameters_text, f"{params:,}", params <= goal.parameters, final=True),
    ]
    if any(c.passed is False and c.final for c in criteria):
        verdict = "not met"
    elif any(c.passed is None for c in criteria):
        verdict = "not yet measured"
    else:
        verdict = "met" if all(c.passed for c in criteria) else "not met"
    return Claim(stored_name(key), recipe.model, params, tuple(r["config"]["seed"] for r in done), len(mine),
                 tuple(criteria), verdict, tuple(sorted({device_label(r) for r in done})), mean, worst)


def headline(runs: Sequence[Run], key: str = ex.BASELINE) -> Claim:
    """Chapter 2's goal (goals.HEADLINE) for the improved recipe."""
    return claim(runs, key, goals.HEADLINE)


def small_claim(runs: Sequence[Run], key: str) -> Claim:
    """The course's bar for a design under goals.SMALL_PARAMETERS (goals.SMALL). A seed's best epoch is
    not the bar: `bar_table` shows that reading beside it, as a second column."""
    return claim(runs, key, goals.SMALL)


def steady_seeds(summary: Summary) -> int:
    """Seeds at or above TARGET in each of their last LAST epochs."""
    return sum(m >= TARGET for m in summary.min_last)


def bar_table(summaries: Sequence[Summary], claims: dict[str, Claim]) -> pd.DataFrame:
    """Each design against the bar: parameters, seeds, mean final test accuracy, the worst epoch among
    every seed's last LAST, the seeds that stay >= TARGET through them, the verdict; and, as a
    second reading that is not the bar, the seeds whose best epoch reaches TARGET."""
    return pd.DataFrame([{
        "design": s.name, "parameters": s.parameters, "seeds": s.n, "mean final (%)": s.mean,
        f"worst of last {LAST} (%)": min(s.min_last) if s.n else None,
        f"seeds ≥ {TARGET:g}% in last {LAST}": f"{steady_seeds(s)} of {s.n}",
        "bar": claims[s.key].verdict,
        "by best epoch (not the bar)": f"{s.reached} of {s.n}",
    } for s in summaries])


def epochs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per (complete run, epoch) with the run's experiment (the "recipe" column, as readers
    name it: "original" for the stored "seed"), model, seed
    and device: for the learning-curve plots."""
    rows = [{"recipe": display_name(r["config"]["recipe"]["name"]), "model": r["model"]["name"],
             "seed": r["config"]["seed"], "device_name": r["environment"]["device_name"], "status": r["status"], **row}
            for r in (run.record for run in runs if run.complete) for row in r["epochs"]]
    return pd.DataFrame(rows, columns=["recipe", "model", "seed", "device_name", "status", *EPOCH])
