"""From run records to the numbers and sentences the Part 2 chapters state: per-run numbers,
tables, per-experiment summaries, comparisons against the seed spread, and the headline claims.

The chapters call these functions and print what they return; no number in
their prose is typed by hand. A planned run (s6lib/experiments.py) may have no
record yet: it is then reported as "not run yet", never filled in.

    runs = load_runs("training", find_runs_dir())   # s6lib.runs
    summary_table(runs)            # one row per experiment
    headline(runs).verdict         # "met", "not met" or "not yet measured"
"""

from __future__ import annotations

import html
import math
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from . import experiments as ex
from . import original
from .models import build_model, count_parameters, get_spec
from .receptive_field import last_conv_rf
from .records import EPOCH, load_record
from .runs import Run, RunsFolder

TARGET = 99.4  # percent test accuracy: the assignment's bar
GOAL_MEAN = 99.45  # the improved recipe's mean final test accuracy
GOAL_SEEDS = 5  # seeds the goal is measured over
LAST_EPOCHS = 3  # every seed must stay >= TARGET in each of these last epochs
EPOCH_BUDGET = 15
PARAM_BUDGET = 20_000
SMALL_BUDGET = 8_000  # the next session's bar

# --- per-record numbers ------------------------------------------------------------------------


def final_acc(record: dict) -> float:
    return record["epochs"][-1]["test_acc"]


def min_last(record: dict, k: int = LAST_EPOCHS) -> float:
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


def count(n: int, noun: str) -> str:
    """ "1 seed", "5 seeds": for sentences computed in the chapters."""
    return f"{n} {noun}{'s' * (n != 1)}"


def device_label(record: dict) -> str:
    env = record["environment"]
    return f"{ex.device_class(record).upper()}: {env['device_name']}"


# --- tables ---------------------------------------------------------------------------------------


def seed_table(runs: Sequence[Run], key: str) -> pd.DataFrame:
    """One row per planned seed of experiment `key`: its final test accuracy, the worst of its last
    epochs, its best epoch, when it first reached TARGET, minutes, device; missing numbers as None."""
    rows = []
    for run in (r for r in runs if r.key == key):
        r = run.record if run.complete else None
        rows.append({
            "seed": run.seed,
            "final test acc (%)": final_acc(r) if r else None,
            f"worst of last {LAST_EPOCHS} (%)": min_last(r) if r else None,
            "best (%)": max(e["test_acc"] for e in r["epochs"]) if r else None,
            "at epoch": best_epoch(r) if r else None,
            f"first ≥ {TARGET:g}%": first_reach(r) if r else None,
            "minutes": round((r["seconds"] or 0) / 60) if r else None,
            "device": run.device_class.upper() if r else run.status,
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
    recipes = {key: ex.flat_recipe(ex.get_experiment(key).build()) for key in keys}
    settings = [name for name in recipes[keys[0]] if name != "name"]
    return pd.DataFrame([{"setting": name, **{key: _short(recipes[key][name]) for key in keys}}
                         for name in settings])


def recipe_diff_table(key: str, base_key: str) -> pd.DataFrame:
    """The settings in which experiment `key`'s recipe differs from `base_key`'s, side by side."""
    a, b = ex.get_experiment(key).build(), ex.get_experiment(base_key).build()
    changes = ex.recipe_changes(a, b)
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
    min_last: tuple[float, ...]  # lowest of the last LAST_EPOCHS epochs, per complete seed
    best_epochs: tuple[int, ...]
    first_reach: tuple[int | None, ...]  # first epoch >= TARGET per complete seed
    devices: tuple[str, ...]  # device labels of the records used
    statuses: tuple[str, ...]  # status of each planned run

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


def summarize(runs: Sequence[Run]) -> list[Summary]:
    """One Summary per experiment, in plan order."""
    by_key: dict[str, list[Run]] = {}
    for run in runs:
        by_key.setdefault(run.key, []).append(run)
    out = []
    for key, group in by_key.items():
        exp, recipe = group[0].planned.experiment, group[0].planned.recipe
        model = build_model(recipe.model)
        done = [r.record for r in group if r.complete]
        out.append(Summary(
            key=key, group=exp.group, change=exp.change, model=recipe.model, parameters=count_parameters(model),
            rf=last_conv_rf(model), planned=len(group),
            seeds=tuple(r["config"]["seed"] for r in done),
            finals=tuple(final_acc(r) for r in done), min_last=tuple(min_last(r) for r in done),
            best_epochs=tuple(best_epoch(r) for r in done), first_reach=tuple(first_reach(r) for r in done),
            devices=tuple(sorted({device_label(r.record) for r in group if r.record is not None})),
            statuses=tuple(r.status for r in group),
        ))
    return out


def mean_std_text(mean, std, digits=2) -> str:
    """"99.45 ± 0.03", "99.45 (1 seed)" or "not run yet"."""
    if mean is None:
        return "not run yet"
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if std is not None else f"{mean:.{digits}f} (1 seed)"


def summary_table(runs_or_summaries, baseline: str | None = None) -> pd.DataFrame:
    """The per-experiment table of a chapter: parameters, seeds complete, mean ± std final test
    accuracy, the worst epoch among every seed's last LAST_EPOCHS; with `baseline` (an experiment in
    the table), the difference from it and `compare`'s verdict in short. "not run yet" where no seed is."""
    sums = _summaries(runs_or_summaries)
    base = next((s for s in sums if s.key == baseline), None)
    rows = []
    for s in sums:
        row = {
            "experiment": s.key, "parameters": s.parameters,
            "seeds": f"{s.n} of {s.planned}" + (f" ({s.diverged} diverged)" if s.diverged else ""),
            "final test acc (%)": mean_std_text(s.mean, s.std),
            f"worst of last {LAST_EPOCHS} (%)": min(s.min_last) if s.n else None,
        }
        if base is not None:
            row[f"vs {baseline}"] = "baseline" if s.key == baseline else compare(s.finals, base.finals).short
        rows.append(row)
    return pd.DataFrame(rows)


def _summaries(runs_or_summaries) -> list[Summary]:
    items = list(runs_or_summaries)
    return items if all(isinstance(i, Summary) for i in items) else summarize(items)


# --- comparing two experiments -------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    verdict: str  # "higher on every seed", "lower on every seed", "within the seed spread", "too few seeds"
    diff: float | None  # mean of a minus mean of b, percentage points
    chance: float | None  # probability of so clean a split by luck alone (see `compare`)

    @property
    def clear(self) -> bool:
        return self.verdict in ("higher on every seed", "lower on every seed")

    @property
    def text(self) -> str:
        if self.diff is None:
            return self.verdict
        text = f"{self.diff:+.2f} pp: {self.verdict}"
        return text + (f" (chance {self.chance:.0%})" if self.chance is not None else "")

    @property
    def short(self) -> str:
        """For a table cell: "+0.12, higher", "−0.03, within spread", "too few seeds"."""
        words = {"higher on every seed": "higher", "lower on every seed": "lower",
                 "within the seed spread": "within spread", "too few seeds": "too few seeds"}[self.verdict]
        if self.diff is None or self.verdict == "too few seeds":
            return words
        return f"{self.diff:+.2f}, {words}".replace("-", "−")


MIN_SEEDS_TO_COMPARE = 3


def compare(a: Sequence[float], b: Sequence[float]) -> Comparison:
    """Is `a` (final accuracies over seeds) clearly different from `b`?

    The rule of these pages: a difference counts only when the two ranges of seeds do not overlap,
    every seed of one above every seed of the other, with at least MIN_SEEDS_TO_COMPARE seeds each.
    `chance` is how often so clean a split happens when seeds are exchangeable and nothing differs:
    2 / C(n_a + n_b, n_a) (a permutation test).
    """
    if min(len(a), len(b)) < MIN_SEEDS_TO_COMPARE:
        diff = statistics.fmean(a) - statistics.fmean(b) if a and b else None
        return Comparison("too few seeds", diff, None)
    diff = statistics.fmean(a) - statistics.fmean(b)
    chance = 2 / math.comb(len(a) + len(b), len(a))
    if min(a) > max(b):
        return Comparison("higher on every seed", diff, chance)
    if max(a) < min(b):
        return Comparison("lower on every seed", diff, chance)
    return Comparison("within the seed spread", diff, None)


def changes_text(exp_key: str, base_key: str = ex.BASELINE) -> str:
    """What an experiment changes from another, computed from the recipes and model specs."""
    a, b = ex.get_experiment(exp_key).build(), ex.get_experiment(base_key).build()
    parts = [f"{k}: {_short(old)} → {_short(new)}" for k, (old, new) in ex.recipe_changes(a, b).items()
             if k != "model"]
    if a.model != b.model:
        parts += [f"model.{k}: {_spec_value(k, old)} → {_spec_value(k, new)}"
                  for k, (old, new) in ex.spec_changes(a.model, b.model).items()]
    return "; ".join(parts) or "nothing"


def _spec_value(field: str, value) -> str:
    """A NetSpec field as the prose says it: block indices from 1, as the layers are named."""
    if field in ("pool_after", "dropout_after"):
        return "blocks " + (", ".join(str(i + 1) for i in value) or "none")
    if field == "transitions":
        return ", ".join(f"block {b + 1} (to {c})" for b, c in value) or "none"
    return _short(value)


def _short(v) -> str:
    """A setting's value as a table shows it: "–" for none, floats without trailing zeros."""
    if v is None:
        return "–"
    if isinstance(v, tuple):
        return "(" + ", ".join(_short(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _mean_std_pct(s: Summary) -> str:
    """"99.45 ± 0.03%", or "99.45%" for one seed (the seed count is said beside it)."""
    return _pct(s.mean, s.std)


def describe(summary: Summary, base: Summary | None) -> str:
    """A Markdown paragraph: what changed, what happened (numbers from the records), and whether
    the difference exceeds the seed-to-seed spread."""
    text = f"**{summary.key}** — {summary.change}. {summary.parameters:,} parameters"
    if base is not None and summary.key != base.key:
        text += f" (baseline {base.parameters:,})"
        if summary.rf != base.rf:
            text += f"; receptive field of the last conv {summary.rf} pixels (baseline {base.rf})"
        text += f". Changed: `{changes_text(summary.key, base.key)}`."
    else:
        text += "."
    if summary.n == 0:
        running = f"; {summary.incomplete} incomplete" if summary.incomplete else ""
        return text + f" *What happened:* **not run yet** (0 of {summary.planned} seeds complete{running})."
    diverged = f" ({summary.diverged} diverged: the loss became non-finite)" if summary.diverged else ""
    text += (f" *What happened:* final test accuracy {_mean_std_pct(summary)} over "
             f"{summary.n} of {summary.planned} seeds{diverged}; {summary.reached} of {summary.n} reached "
             f"{TARGET:g}% at some epoch.")
    if base is None or summary.key == base.key:
        return text
    c = compare(summary.finals, base.finals)
    against = f" Against the baseline ({_mean_std_pct(base)}, {count(base.n, 'seed')})"
    if c.verdict == "too few seeds":
        return text + f"{against}: too few seeds to conclude (at least {MIN_SEEDS_TO_COMPARE} each)."
    if c.clear:
        return (text + f"{against}: {c.diff:+.2f} points, **{c.verdict}** (a split this clean happens by luck "
                f"alone with probability {c.chance:.1%}).")
    return text + f"{against}: {c.diff:+.2f} points, within the seed-to-seed spread: no conclusion."


def group_markdown(summaries: Sequence[Summary], group: str, baseline: str = ex.BASELINE) -> str:
    """The write-up of one ablation group: for each experiment what changed, why it might matter,
    what happened and whether it exceeds the seed spread (Markdown, numbers from the records)."""
    base = next((s for s in summaries if s.key == baseline), None)
    parts = []
    for s in summaries:
        if s.group != group:
            continue
        exp = ex.get_experiment(s.key)
        parts.append(describe(s, base) + (f" *Why it could matter:* {exp.why}" if exp.why else ""))
    return "\n\n".join(parts)


def findings(summaries: Sequence[Summary], baseline: str = ex.BASELINE) -> dict[str, list[str]]:
    """Experiments by verdict against the baseline: "higher on every seed", "lower on every seed",
    "within the seed spread", "too few seeds" (incl. not run yet)."""
    base = next(s for s in summaries if s.key == baseline)
    out: dict[str, list[str]] = {v: [] for v in ("higher on every seed", "lower on every seed",
                                                 "within the seed spread", "too few seeds")}
    for s in summaries:
        if s.key != baseline:
            out[compare(s.finals, base.finals).verdict].append(s.key)
    return out


# --- sentences the records decide -------------------------------------------------------------------


def spread_sentence(summary: Summary, single: float, single_name: str = "The original's single run") -> str:
    """Where one run's final accuracy sits against an experiment's seeds, in words."""
    if summary.n == 0:
        return (f"No complete run of `{summary.key}` is recorded yet, so its spread is not known here"
                + (f" ({summary.incomplete} incomplete)." if summary.incomplete else "."))
    low, high = min(summary.finals), max(summary.finals)
    spread = (f"ended between {low:.2f}% and {high:.2f}% (mean {summary.mean:.2f}%, standard deviation "
              f"{summary.std:.2f})" if summary.n > 1 else f"ended at {low:.2f}%")
    where = ("above every one of them" if single > high else "below every one of them" if single < low
             else "within their range")
    above = sum(f >= TARGET for f in summary.finals)
    return (f"Over {count(summary.n, 'seed')}, `{summary.key}` {spread}; {above} of {summary.n} ended at or "
            f"above {TARGET:g}%, and {summary.reached} of {summary.n} reached it at some epoch. "
            f"{single_name} ({single:.2f}%) is {where}.")


def original_log_sentence() -> str:
    """When the original's one run first reached TARGET, and what that says (and does not)."""
    accs = list(original.ORIGINAL_LOG["test_acc"])
    first = first_reach(accs)
    if first is None:
        return f"The run never reached {TARGET:g}%; its last epoch ended at {accs[-1]:.2f}%."
    before = accs[:first - 1]
    return (f"The run first reached {TARGET:g}% at epoch {first} of {len(accs)}"
            + (f"; before that its best was {max(before):.2f}% (epoch {before.index(max(before)) + 1})"
               if before else "")
            + f". The {accs[-1]:.2f}% it reported is its final epoch, and nothing in the log says whether "
              "a second run would get there too.")


def model_change_sentence(key: str, base_key: str) -> str:
    """How experiment `key`'s model differs from `base_key`'s, in words (from the two specs)."""
    model, base = ex.get_experiment(key).build().model, ex.get_experiment(base_key).build().model
    if model == base:
        return f"`{key}` trains the same model as `{base_key}`, `{model}`."
    changed = ex.spec_changes(model, base)
    text = f"`{key}`'s model, `{model}`, is `{base}` with " + "; ".join(
        f"`{name}` {_short(old)} → {_short(new)}" for name, (old, new) in changed.items())
    return text + (": its dropout layers drop a smaller share of their inputs." if set(changed) == {"dropout"}
                   else ".")


def live_sentence(live: dict, recorded: dict | None) -> str:
    """A run trained while the page was built, against the record of the same seed."""
    text = f"The live run ended at {final_acc(live):.2f}%"
    if recorded is None:
        return text + "; there is no record of the same seed to compare it with."
    return (text + f"; the record of the same seed ({device_label(recorded)}) ended at {final_acc(recorded):.2f}%. "
            "The same seed need not give the same digits on another device or library version: GPU kernels "
            "may add numbers in a different order.")


def last_epoch_sentence(frame: pd.DataFrame) -> str:
    """Training and test accuracy at each experiment's last epoch, mean over its seeds (Markdown list)."""
    lines = []
    for key, group in frame.groupby("recipe", sort=False):
        last = group[group.epoch == group.epoch.max()]
        lines.append(f"- `{key}`: at its last epoch, training accuracy {last.train_acc.mean():.2f}% and test "
                     f"accuracy {last.test_acc.mean():.2f}% (mean over {count(len(last), 'seed')}).")
    return "\n".join(lines) or "No complete runs yet."


# --- bf16 or float32 on the CPU ----------------------------------------------------------------------

PRECISION_CHECK = Path("checks") / "cpu-float32"  # under the runs folder: float32 twins of bf16 CPU runs
PRECISION_KEY = "tune-base"  # the check runs the recipe before tuning on the tuning seeds


@dataclass(frozen=True)
class PrecisionCheck:
    seeds: tuple[int, ...]
    bf16: tuple[float, ...]  # final test accuracy of each seed's bf16 run (cpu/)
    float32: tuple[float, ...]  # ... and of its float32 twin (checks/cpu-float32/)
    comparison: Comparison  # bf16 against float32
    bf16_epoch_seconds: tuple[float, ...] = ()  # each run's mean seconds per epoch
    float32_epoch_seconds: tuple[float, ...] = ()

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"seed": self.seeds, "bf16 final test acc (%)": self.bf16,
                             "float32 final test acc (%)": self.float32,
                             "bf16 s/epoch": self.bf16_epoch_seconds,
                             "float32 s/epoch": self.float32_epoch_seconds})

    @property
    def sentence(self) -> str:
        if not self.seeds:
            return "No seed has both a bf16 and a float32 record yet: the check has not been made."
        verdict = {"within the seed spread": "within the seed-to-seed spread of the float32 runs: no sign that "
                                              "bf16 changes the result",
                   "too few seeds": f"too few seeds to judge (at least {MIN_SEEDS_TO_COMPARE} each)"}.get(
            self.comparison.verdict, f"{self.comparison.verdict} than the float32 runs")
        bf16_s, float32_s = statistics.fmean(self.bf16_epoch_seconds), statistics.fmean(self.float32_epoch_seconds)
        bf16, float32 = (_pct(*_mean_std(v)) for v in (self.bf16, self.float32))
        return (f"Seeds {_ranges(self.seeds)}: bf16 runs ended at {bf16}, float32 runs at {float32}. bf16 is "
                f"{verdict}. An epoch took "
                f"{bf16_s:.1f} s in bf16 and {float32_s:.1f} s in float32 ({float32_s / bf16_s:.1f} times as long; "
                "one thread per run, two runs side by side).")


def _pct(mean: float, std: float | None) -> str:
    return f"{mean:.2f} ± {std:.2f}%" if std is not None else f"{mean:.2f}%"


def _mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    return (statistics.fmean(values) if values else None, statistics.stdev(values) if len(values) > 1 else None)


def precision_check(runs_dir: Path | None, key: str = PRECISION_KEY) -> PrecisionCheck:
    """The bf16 CPU runs of `key` against their float32 twins, seed by seed (complete pairs only; a
    record whose config is not the planned run's, or whose precision is not the one its folder says,
    is left out)."""
    pairs = []
    for planned in ex.planned_runs([ex.get_experiment(key)]) if runs_dir is not None else []:
        found = {}
        for precision, folder in (("bf16-autocast", Path(runs_dir) / "cpu"), ("float32", Path(runs_dir) / PRECISION_CHECK)):
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
    return PrecisionCheck(columns[0], columns[1], columns[2], compare(columns[1], columns[2]), columns[3], columns[4])


def epoch_seconds(record: dict) -> float:
    """A run's mean wall time per epoch (training and test evaluation)."""
    return statistics.fmean(row["seconds"] for row in record["epochs"])


# --- choosing the recipe ---------------------------------------------------------------------------

TUNING_RULE = (f"the candidate whose worst epoch among every seed's last {LAST_EPOCHS} is highest (the part "
               "of the goal a recipe most often misses); between equals, the higher mean final accuracy")


@dataclass(frozen=True)
class Choice:
    winner: str  # the tuning experiment chosen
    ranking: tuple[str, ...]  # every candidate with all its seeds complete, best first
    incomplete: tuple[str, ...]  # candidates left out: not every seed has a complete record
    runner_up: str = ""  # a sentence on the candidate with the best mean, when it is not the winner

    @property
    def sentence(self) -> str:
        tried = len(self.ranking) + len(self.incomplete)
        text = (f"{count(tried, 'candidate')} tried, each on the same seeds, none of which any result on these "
                f"pages uses. The rule, from the goal: {TUNING_RULE}. It picks **{self.winner}**.")
        if self.runner_up:
            text += " " + self.runner_up
        if self.incomplete:
            text += f" Left out for want of complete records: {', '.join(self.incomplete)}."
        return text


def tuning_table(summaries: Sequence[Summary]) -> pd.DataFrame:
    """The candidates tried before the fast recipe was fixed: what each changed, each seed's final
    test accuracy, the mean, and the worst epoch among every seed's last LAST_EPOCHS."""
    seeds = sorted({seed for s in summaries for seed in ex.get_experiment(s.key).seeds})
    rows = []
    for s in summaries:
        finals = dict(zip(s.seeds, s.finals))
        rows.append({"candidate": s.key, "change": s.change,
                     **{f"seed {seed}": finals.get(seed) for seed in seeds},
                     "mean (%)": s.mean, f"worst of last {LAST_EPOCHS} (%)": min(s.min_last) if s.n else None})
    return pd.DataFrame(rows)


def choice_sentence(summaries: Sequence[Summary]) -> str:
    """`choose`'s sentence, or why there is no choice to report yet."""
    try:
        return choose(summaries).sentence
    except ValueError:
        return f"No candidate has all of its {count(len(ex.TUNING_SEEDS), 'seed')} recorded yet, so no choice is reported."


def choose(summaries: Sequence[Summary]) -> Choice:
    """Apply TUNING_RULE to the tuning plan's summaries (candidates with every planned seed complete)."""
    ready = [s for s in summaries if s.n and s.n == s.planned]
    if not ready:
        raise ValueError("no candidate has all its seeds complete")
    ranked = sorted(ready, key=lambda s: (-min(s.min_last), -s.mean, s.key))
    winner, best_mean = ranked[0], max(ready, key=lambda s: (s.mean, s.key))
    runner_up = "" if best_mean is winner else (
        f"`{best_mean.key}` had the higher mean ({best_mean.mean:.2f}% against {winner.mean:.2f}%), but an epoch "
        f"among its seeds' last {LAST_EPOCHS} fell to {min(best_mean.min_last):.2f}% (the winner's worst: "
        f"{min(winner.min_last):.2f}%).")
    return Choice(winner.key, tuple(s.key for s in ranked), tuple(s.key for s in summaries if s not in ready),
                  runner_up)


def completeness_sentence(summaries: Sequence[Summary]) -> str:
    """How many experiments have every seed recorded, and which do not."""
    missing = [s.key for s in summaries if s.n < s.planned]
    return (f"{len(summaries) - len(missing)} of {len(summaries)} experiments have all their seeds recorded."
            + (f" Not yet complete: {', '.join(f'`{k}`' for k in missing)}." if missing else ""))


def findings_markdown(summaries: Sequence[Summary], baseline: str = ex.BASELINE) -> str:
    """The experiments by verdict against the baseline, as a Markdown list."""
    found = findings(summaries, baseline)
    names = lambda keys: ", ".join(f"`{k}`" for k in keys) or "none"  # noqa: E731
    lines = [f"- **{verdict}** than `{baseline}`: {names(keys)}" for verdict, keys in found.items()
             if verdict in ("higher on every seed", "lower on every seed")]
    lines.append(f"- **within the seed spread**: {names(found['within the seed spread'])}")
    lines.append(f"- **too few seeds** recorded to judge: {names(found['too few seeds'])}")
    return "\n".join(lines)


def trials_markdown(summaries: Sequence[Summary]) -> str:
    """The original's trial log, one item per trial, with the experiment here that asks the same question
    and what its records say."""
    ours = {s.key: s for s in summaries}
    lines = []
    for t in original.ORIGINAL_TRIALS:
        s = ours.get(t["ours"])
        result = (f"{_mean_std_pct(s)} over {count(s.n, 'seed')}" if s is not None and s.n
                  else "not run yet" if s is not None else "see the training chapter")
        lines.append(f"- **Trial {t['trial']}**, {t['parameters']:,} parameters: \"{t['change']}\". Train "
                     f"{t['train_acc']:.2f}%, test {t['test_acc']:.2f}%. Here: `{t['ours']}`, {result}.")
    return "\n".join(lines)


def design_table(keys: Sequence[str]) -> pd.DataFrame:
    """The layout of experiments' models, blocks numbered from 1 as the layers are named (conv1,
    pool2, ...): conv channels, max-pools, 1×1 transitions, dropout, parameters, the receptive field
    of the last 3×3 conv."""
    rows = []
    for key in keys:
        recipe = ex.get_experiment(key).build()
        spec, model = get_spec(recipe.model), build_model(recipe.model)
        blocks = lambda indices: ", ".join(str(i + 1) for i in indices) or "none"  # noqa: E731
        rows.append({
            "experiment": key,
            "conv channels": ", ".join(map(str, spec.channels)),
            "max-pool after": blocks(spec.pool_after),
            "1×1 after": ", ".join(f"{b + 1} (to {c})" for b, c in spec.transitions) or "none",
            "dropout": f"{spec.dropout:g} after {blocks(spec.dropout_after)}" if spec.dropout else "none",
            "parameters": count_parameters(model),
            "RF": last_conv_rf(model),
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
    title: str
    experiment: str
    model: str
    parameters: int
    seeds: tuple[int, ...]  # complete seeds measured
    planned: int
    criteria: tuple[Criterion, ...]
    verdict: str  # "met", "not met", "not yet measured"
    devices: tuple[str, ...]

    @property
    def verdict_line(self) -> str:
        """The sentence a page prints; tests look for it in the built page."""
        return f"Verdict for {self.experiment}: {self.verdict}"

    def table(self):
        mark = {True: "yes", False: "no", None: "not measured"}
        return pd.DataFrame([{"criterion": c.name, "required": c.required, "measured": c.measured,
                              "passed": mark[c.passed]} for c in self.criteria]).set_index("criterion")

    def markdown(self, title: bool = True) -> str:
        """The claim, what it was measured on, and its verdict line; `title=False` leaves out the claim's text."""
        devices = "; ".join(self.devices) or "no complete records"
        text = (f"**{self.title}** — " if title else "") + (f"experiment `{self.experiment}`, model `{self.model}` "
                f"({self.parameters:,} parameters), {len(self.seeds)} of {self.planned} planned seeds complete "
                f"({devices}).\n\n**{self.verdict_line}.**")
        if not title:
            text = text[0].upper() + text[1:]
        if self.verdict == "not yet measured":
            missing = [c.name for c in self.criteria if c.passed is None]
            text += (f" Fewer than {GOAL_SEEDS} seeds are complete, so the claim cannot be decided yet"
                     + (f" (unmeasured: {', '.join(missing)})" if missing else "") + ".")
        elif self.verdict == "not met":
            text += " Failed: " + ", ".join(c.name for c in self.criteria if c.passed is False) + "."
        return text


GOAL_TEXT = (f"The goal: ≥{GOAL_MEAN:.2f}% mean final test accuracy over ≥{GOAL_SEEDS} seeds, every seed "
             f"≥{TARGET:.2f}% in each of its last {LAST_EPOCHS} epochs, in ≤{EPOCH_BUDGET} epochs, with "
             f"≤{PARAM_BUDGET:,} parameters")
SMALL_TEXT = (f"Under {SMALL_BUDGET:,} parameters, every seed reaches {TARGET:g}% within {EPOCH_BUDGET} epochs")


def _measured(fmt: str, n: int, value) -> str:
    if value is None:
        return "–"
    text = fmt.format(value)
    return text if n >= GOAL_SEEDS else f"{text} ({n} seed{'s' * (n != 1)} so far)"


def _every(ok_so_far: bool, enough: bool) -> bool | None:
    """An every-seed criterion: failed as soon as one seed fails; passed only once enough seeds are in."""
    return False if not ok_so_far else (True if enough else None)


def _claim(title: str, runs: Sequence[Run], key: str, criteria_fn) -> Claim:
    mine = [r for r in runs if r.key == key]
    if not mine:
        raise ValueError(f"no planned runs of experiment {key!r} among the runs given")
    recipe = mine[0].planned.recipe
    params = count_parameters(build_model(recipe.model))
    done = [r.record for r in mine if r.complete]
    criteria = tuple(criteria_fn(recipe, params, done))
    if any(c.passed is False and c.final for c in criteria):
        verdict = "not met"
    elif len(done) < GOAL_SEEDS or any(c.passed is None for c in criteria):
        verdict = "not yet measured"
    else:
        verdict = "met" if all(c.passed for c in criteria) else "not met"
    return Claim(title, key, recipe.model, params, tuple(r["config"]["seed"] for r in done), len(mine),
                 criteria, verdict, tuple(sorted({device_label(r) for r in done})))


def headline(runs: Sequence[Run], key: str = ex.BASELINE) -> Claim:
    """Chapter 2's goal for the improved recipe: mean final test accuracy >= GOAL_MEAN over >= GOAL_SEEDS
    seeds, every seed >= TARGET in each of its last LAST_EPOCHS epochs, <= EPOCH_BUDGET epochs,
    <= PARAM_BUDGET parameters."""

    def criteria(recipe, params, done):
        n = len(done)
        enough = n >= GOAL_SEEDS
        yield Criterion("seeds", f"≥ {GOAL_SEEDS}", str(n), enough)
        mean = statistics.fmean(final_acc(r) for r in done) if done else None
        yield Criterion("mean final test accuracy", f"≥ {GOAL_MEAN:.2f}%", _measured("{:.3f}%", n, mean),
                        mean >= GOAL_MEAN if enough else None)
        worst = min(min_last(r) for r in done) if done else None
        yield Criterion(f"every seed, each of its last {LAST_EPOCHS} epochs", f"≥ {TARGET:.2f}%",
                        _measured("lowest {:.2f}%", n, worst), _every(worst is None or worst >= TARGET, enough),
                        final=True)
        yield Criterion("epochs", f"≤ {EPOCH_BUDGET}", str(recipe.epochs), recipe.epochs <= EPOCH_BUDGET, final=True)
        yield Criterion("parameters", f"≤ {PARAM_BUDGET:,}", f"{params:,}", params <= PARAM_BUDGET, final=True)

    return _claim(GOAL_TEXT, runs, key, criteria)


def small_claim(runs: Sequence[Run], key: str) -> Claim:
    """The next session's bar: < SMALL_BUDGET parameters, every seed reaches TARGET within EPOCH_BUDGET epochs
    (also shown, not required: every seed's final epoch >= TARGET)."""

    def criteria(recipe, params, done):
        n = len(done)
        enough = n >= GOAL_SEEDS
        yield Criterion("seeds", f"≥ {GOAL_SEEDS}", str(n), enough)
        reach = [first_reach([e["test_acc"] for e in r["epochs"][:EPOCH_BUDGET]]) for r in done]
        never = sum(e is None for e in reach)
        yield Criterion(f"every seed reaches {TARGET:g}% within {EPOCH_BUDGET} epochs", "all seeds",
                        f"{n - never} of {n}" if n else "–", _every(never == 0, enough), final=True)
        yield Criterion("parameters", f"< {SMALL_BUDGET:,}", f"{params:,}", params < SMALL_BUDGET, final=True)
        yield Criterion("epochs", f"≤ {EPOCH_BUDGET}", str(recipe.epochs), recipe.epochs <= EPOCH_BUDGET, final=True)

    return _claim(SMALL_TEXT, runs, key, criteria)


def small_verdict_sentence(summaries: Sequence[Summary], claims: dict[str, Claim]) -> str:
    """How close the small designs get to the bar, from their claims and summaries."""
    met = [key for key, claim in claims.items() if claim.verdict == "met"]
    measured = [s for s in summaries if s.n]
    if met:
        best = max((s for s in summaries if s.key in met), key=lambda s: s.mean)
        return (f"{len(met)} of {len(claims)} designs clear the bar on every recorded seed: "
                + ", ".join(f"`{k}`" for k in met)
                + f". The most accurate of them, `{best.key}` ({best.parameters:,} parameters), ends at "
                  f"{_mean_std_pct(best)}.")
    if measured:
        best = max(measured, key=lambda s: (s.reached / s.n, s.mean))
        return (f"No design clears the bar on the records so far. The closest is `{best.key}` "
                f"({best.parameters:,} parameters): {best.reached} of {best.n} recorded seeds reached "
                f"{TARGET:g}% within {EPOCH_BUDGET} epochs, with a final test accuracy of "
                f"{_mean_std_pct(best)}.")
    return "None of the designs has a recorded run yet, so how close they get is not known here."


# --- where the records come from -----------------------------------------------------------------


def provenance_html(runs: Sequence[Run], where: RunsFolder) -> str:
    """The note at the top of a Part 2 page, said once and briefly: which devices and how many seeds
    made its numbers, and where the records came from when not from this copy of the book. HTML, so
    it renders in Jupyter and in the book. (What is still to run is the Status page's business.)"""
    done = [r for r in runs if r.complete]
    if where.path is None:
        kind, title = "warning", "No run records here"
        text = where.source + " Every result below stays empty until then; none is made up."
    elif not done:
        kind, title = "warning", "No runs recorded yet"
        text = f"None of the {len(runs)} runs this page reports has a finished record yet, so it shows no results."
    else:
        kind, title = "note", "Where these numbers come from"
        devices = "; ".join(sorted({device_label(r.record) for r in done}))
        seeds = sorted({r.seed for r in done})
        missing = len(runs) - len(done)
        text = (f"{len(done)} training runs ({devices}), seeds {_ranges(seeds)}"
                + (f"; {missing} planned runs are not recorded yet, and their rows say so" if missing else "") + ".")
    if where.path is not None and not where.source.startswith("Run records from this copy"):
        text += " " + where.source
    return (f'<div class="admonition {kind}"><p class="admonition-title">{html.escape(title)}</p>'
            f"<p>{html.escape(text.strip())}</p></div>")


def _ranges(numbers: Sequence[int]) -> str:
    """1, 2, 3, 5 -> "1–3, 5"."""
    parts, start = [], None
    for i, n in enumerate(numbers):
        start = n if start is None else start
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(f"{start}–{n}" if n > start + 1 else ", ".join(map(str, range(start, n + 1))))
            start = None
    return ", ".join(parts)


def epochs_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per (complete run, epoch) with the run's experiment (the "recipe" column), model, seed
    and device: for the learning-curve plots."""
    rows = [{"recipe": r["config"]["recipe"]["name"], "model": r["model"]["name"], "seed": r["config"]["seed"],
             "device_name": r["environment"]["device_name"], "status": r["status"], **row}
            for r in (run.record for run in runs if run.complete) for row in r["epochs"]]
    return pd.DataFrame(rows, columns=["recipe", "model", "seed", "device_name", "status", *EPOCH])
