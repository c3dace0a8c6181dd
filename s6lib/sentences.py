"""The sentences of the Part 2 chapters: s6lib.results' numbers put into words.

Each function takes summaries, claims or records and returns Markdown (or, for the provenance
note, HTML) whose every number was computed from the records; the chapters display what these
return. Numbers and tables stay in s6lib.results; this module only words them.

    summaries = results.summarize(runs)
    Markdown(sentences.spread_sentence(summaries[0], 99.40))
"""

from __future__ import annotations

import html
import statistics
from typing import Sequence

import pandas as pd

from . import experiments as ex
from . import original
from .recipes import display_name
from .results import (GOAL_SEEDS, LAST_EPOCHS, MIN_SEEDS_TO_COMPARE, TARGET, EPOCH_BUDGET, Choice, Claim,
                      PrecisionCheck, Summary, _short, choose, device_label, experiment, final_acc, first_reach)
from .runs import Run, RunsFolder


def count(n: int, noun: str) -> str:
    """ "1 seed", "5 seeds": for sentences computed in the chapters."""
    return f"{n} {noun}{'s' * (n != 1)}"


def changes_text(exp_key: str, base_key: str = ex.BASELINE) -> str:
    """What an experiment changes from another, computed from the recipes and model specs."""
    a, b = experiment(exp_key).build(), experiment(base_key).build()
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


def _mean_std_pct(s: Summary) -> str:
    """"99.45 ± 0.03%", or "99.45%" for one seed (the seed count is said beside it)."""
    return _pct(s.mean, s.std)


# --- sentences the records decide -------------------------------------------------------------------


def spread_sentence(summary: Summary, single: float, single_name: str = "The original's single run") -> str:
    """Where one run's final accuracy sits against an experiment's seeds, in words."""
    if summary.n == 0:
        return (f"No complete run of `{summary.name}` is recorded yet, so its spread is not known here"
                + (f" ({summary.incomplete} incomplete)." if summary.incomplete else "."))
    low, high = min(summary.finals), max(summary.finals)
    spread = (f"ended between {low:.2f}% and {high:.2f}% (mean {summary.mean:.2f}%, standard deviation "
              f"{summary.std:.2f})" if summary.n > 1 else f"ended at {low:.2f}%")
    where = ("above every one of them" if single > high else "below every one of them" if single < low
             else "within their range")
    above = sum(f >= TARGET for f in summary.finals)
    return (f"Over {count(summary.n, 'seed')}, `{summary.name}` {spread}; {above} of {summary.n} ended at or "
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
    model, base = experiment(key).build().model, experiment(base_key).build().model
    key, base_key = display_name(experiment(key).key), display_name(experiment(base_key).key)
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


def _pct(mean: float, std: float | None) -> str:
    return f"{mean:.2f} ± {std:.2f}%" if std is not None else f"{mean:.2f}%"


def _mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    return (statistics.fmean(values) if values else None, statistics.stdev(values) if len(values) > 1 else None)


# --- choosing the recipe ---------------------------------------------------------------------------

TUNING_RULE = (f"the candidate whose worst epoch among every seed's last {LAST_EPOCHS} is highest (the part "
               "of the goal a recipe most often misses); between equals, the higher mean final accuracy")


def choice_sentence(summaries: Sequence[Summary]) -> str:
    """`results.choose`'s choice in words, or why there is no choice to report yet."""
    try:
        return choice_text(choose(summaries), summaries)
    except ValueError:
        return f"No candidate has all of its {count(len(ex.TUNING_SEEDS), 'seed')} recorded yet, so no choice is reported."


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
                     f"{t['train_acc']:.2f}%, test {t['test_acc']:.2f}%. Here: `{display_name(t['ours'])}`, {result}.")
    return "\n".join(lines)


def small_verdict_sentence(summaries: Sequence[Summary], claims: dict[str, Claim]) -> str:
    """How close the small designs come to the bar (every seed >= TARGET in each of its last LAST_EPOCHS
    epochs), from their claims and summaries; and what the best-epoch reading would have said."""
    from .results import steady_seeds

    met = [s for s in summaries if claims[s.key].verdict == "met"]
    measured = [s for s in summaries if s.n]
    lucky = [s for s in measured if s.reached == s.n]
    if met:
        best = max(met, key=lambda s: s.mean)
        text = (f"{len(met)} of {len(claims)} designs meet the bar: {', '.join(f'`{s.name}`' for s in met)}. "
                f"The most accurate of them, `{best.name}` ({best.parameters:,} parameters), ends at "
                f"{_mean_std_pct(best)}.")
    elif measured:
        best = max(measured, key=lambda s: (min(s.min_last), s.mean))
        worst = min(best.min_last)
        short = TARGET - worst
        text = (f"No design meets the bar on these records. The closest is `{best.name}` ({best.parameters:,} "
                f"parameters): the worst epoch among its seeds' last {LAST_EPOCHS} is {worst:.2f}%, "
                f"{short:.2f} points ({short * 100:.0f} of the 10,000 test images) short, and "
                f"{steady_seeds(best)} of its {best.n} seeds stay at or above {TARGET:g}% through their last "
                f"{LAST_EPOCHS} epochs.")
    else:
        return "None of the designs has a recorded run yet, so how close they get is not known here."
    if lucky and len(lucky) > len(met):
        text += (f" Judged by each seed's best epoch instead, {len(lucky)} of {len(measured)} would pass: every "
                 f"one of their seeds touched {TARGET:g}% at some epoch within {EPOCH_BUDGET}. That is the "
                 "one-lucky-epoch reading the training chapter warns about, and the bar does not accept it.")
    return text


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


def precision_sentence(check: PrecisionCheck) -> str:
    """The bf16-against-float32 check in words: each precision's final accuracies, the verdict, the speed."""
    if not check.seeds:
        return "No seed has both a bf16 and a float32 record yet: the check has not been made."
    verdict = {"within the seed spread": "within the seed-to-seed spread of the float32 runs: no sign that "
                                          "bf16 changes the result",
               "too few seeds": f"too few seeds to judge (at least {MIN_SEEDS_TO_COMPARE} each)"}.get(
        check.comparison.verdict, f"{check.comparison.verdict} than the float32 runs")
    bf16_s, float32_s = statistics.fmean(check.bf16_epoch_seconds), statistics.fmean(check.float32_epoch_seconds)
    bf16, float32 = (_pct(*_mean_std(v)) for v in (check.bf16, check.float32))
    return (f"Seeds {_ranges(check.seeds)}: bf16 runs ended at {bf16}, float32 runs at {float32}. bf16 is "
            f"{verdict}. An epoch took "
            f"{bf16_s:.1f} s in bf16 and {float32_s:.1f} s in float32 ({float32_s / bf16_s:.1f} times as long; "
            "one thread per run, two runs side by side).")


def choice_text(choice: Choice, summaries: Sequence[Summary]) -> str:
    """The tuning choice in words: how many candidates, the rule, the winner, and the candidate with
    the best mean when the rule did not pick it."""
    by_key = {s.key: s for s in summaries}
    winner = by_key[choice.winner]
    ready = [by_key[k] for k in choice.ranking]
    best_mean = max(ready, key=lambda s: (s.mean, s.key))
    tried = len(choice.ranking) + len(choice.incomplete)
    text = (f"{count(tried, 'candidate')} tried, each on the same seeds, none of which any result on these "
            f"pages uses. The rule, from the goal: {TUNING_RULE}. It picks **{choice.winner}**.")
    if best_mean is not winner:
        text += (f" `{best_mean.key}` had the higher mean ({best_mean.mean:.2f}% against {winner.mean:.2f}%), "
                 f"but an epoch among its seeds' last {LAST_EPOCHS} fell to {min(best_mean.min_last):.2f}% "
                 f"(the winner's worst: {min(winner.min_last):.2f}%).")
    if choice.incomplete:
        text += f" Left out for want of complete records: {', '.join(choice.incomplete)}."
    return text


def claim_markdown(claim: Claim, title: bool = True) -> str:
    """The claim, what it was measured on, and its verdict line; `title=False` leaves out the claim's text."""
    devices = "; ".join(claim.devices) or "no complete records"
    text = (f"**{claim.title}** — " if title else "") + (
        f"experiment `{claim.experiment}`, model `{claim.model}` ({claim.parameters:,} parameters), "
        f"{len(claim.seeds)} of {claim.planned} planned seeds complete ({devices}).\n\n**{claim.verdict_line}.**")
    if not title:
        text = text[0].upper() + text[1:]
    if claim.verdict == "not yet measured":
        missing = [c.name for c in claim.criteria if c.passed is None]
        text += (f" Fewer than {GOAL_SEEDS} seeds are complete, so the claim cannot be decided yet"
                 + (f" (unmeasured: {', '.join(missing)})" if missing else "") + ".")
    elif claim.verdict == "not met":
        text += " Failed: " + ", ".join(c.name for c in claim.criteria if c.passed is False) + "."
    return text


# --- the ablations page --------------------------------------------------------------------------

LARGE = 0.10  # points: 10 of the 10,000 test images, the size the ablations summary calls large


def _listed(rows, with_diff: bool = True) -> str:
    """`name` (−0.12), ... in the rows' order, each failed seed said beside its experiment."""
    def one(r):
        failed = "; ".join(f"seed {seed} failed at {acc:.2f}%" for seed, acc in r.failed)
        inside = ", ".join(x for x in (f"{r.difference.diff:+.2f}".replace("-", "−") if with_diff else "", failed) if x)
        return f"`{r.summary.name}`" + (f" ({inside})" if inside else "")
    return ", ".join(map(one, rows)) or "none"


def what_matters(rows, summaries: Sequence[Summary]) -> str:
    """The ablations page's summary, from `s6lib.ablations.compare_all`'s rows (largest difference
    first): the clear differences, large ones first, the changes that made no clear difference, what
    is not run yet, and how many clear verdicts luck alone would give."""
    from .ablations import SECTIONS, expected_false

    clear = [r for r in rows if r.difference.verdict in ("lower", "higher")]
    large = [r for r in clear if r.difference.verdict == "lower" and abs(r.difference.diff) >= LARGE]
    smaller = [r for r in clear if r.difference.verdict == "lower" and r not in large]
    better = [r for r in clear if r.difference.verdict == "higher"]
    unclear = [r for r in rows if r.difference.verdict == "no clear difference"]
    few = [r for r in rows if r.difference.verdict == "too few seeds"]
    missing = [s.name for s in summaries if not s.n]
    sections = [name for name in SECTIONS if any(r.section == name for r in large)]
    by_section = ", ".join(f"{sum(r.section == name for r in large)} {name}" for name in sections)
    lines = [f"- **Clearly worse, by {LARGE:.2f} points ({LARGE * 100:.0f} test images) or more:** {_listed(large)}."
             + (f" By section: {by_section}." if large else ""),
             f"- **Clearly worse, by less:** {_listed(smaller)}.",
             f"- **Clearly better:** {_listed(better)}.",
             f"- **No clear difference** ({len(unclear)} of {len(rows)}): {_listed(unclear, with_diff=False)}."]
    if few:
        lines.append(f"- **Too few seeds to judge:** {_listed(few, with_diff=False)}.")
    if missing:
        lines.append(f"- **Not run yet:** {', '.join(f'`{m}`' for m in missing)}.")
    lines.append(f"- **Luck alone**, if no change did anything, would make about {expected_false(rows):.1f} of these "
                 f"{len([r for r in rows if r.difference.p is not None])} comparisons come out clear; "
                 f"{len(clear)} did. Which of them is luck, three seeds cannot say (below).")
    return "\n".join(lines)


def contrast_sentence(rows) -> str:
    """Why a verdict is not the size of a difference: the smallest clear difference against the
    largest unclear one, with each one's spread of seeds (empty when sizes and verdicts agree)."""
    clear = [r for r in rows if r.difference.verdict in ("lower", "higher")]
    unclear = [r for r in rows if r.difference.verdict == "no clear difference"]
    if not clear or not unclear:
        return ""
    small = min(clear, key=lambda r: abs(r.difference.diff))
    large = max(unclear, key=lambda r: abs(r.difference.diff))
    if abs(large.difference.diff) <= abs(small.difference.diff):
        return ""

    def said(r):
        spread = max(r.summary.finals) - min(r.summary.finals)
        way = "lower" if r.difference.diff < 0 else "higher"
        return (f"`{r.summary.name}`, {abs(r.difference.diff):.2f} points {way} with its seeds within "
                f"{spread:.2f} points of each other")
    return (f"So size alone does not make a verdict: {said(small)}, is clear, while {said(large)}, is not.")


def writeups(rows, section: str) -> str:
    """A section's write-ups, in its table's order: what each experiment changes in the settings or
    the model, each seed's final accuracy, and why the change could matter (Markdown)."""
    from .ablations import seeds_text

    parts = []
    for r in rows:
        if r.section != section:
            continue
        s, base = r.summary, r.base
        text = f"**{s.name}** — {s.change}"
        if s.parameters != base.parameters:
            text += f"; {s.parameters:,} parameters (baseline {base.parameters:,})"
        if s.rf != base.rf:
            text += f"; the last conv sees {s.rf}×{s.rf} input pixels (baseline {base.rf}×{base.rf})"
        text += f". Changed: `{changes_text(s.key, base.key)}`. Its seeds ended at {seeds_text(r)}%."
        why = ex.get_experiment(s.key).why
        text += f" *Why it could matter:* {why}" if why else ""
        text += "".join(f" Seed {seed} failed to train: see below." for seed, _ in r.failed)
        parts.append(text)
    return "\n\n".join(parts)


def failed_seed_markdown(fact, others: Sequence[dict]) -> str:
    """What a failed seed's record shows, in words: which classes its final model predicted, where its
    mistakes went, and when it went wrong, against the experiment's other seeds (their records)."""
    shown = sorted(fact.predicted_classes, key=lambda c: -fact.predicted[c])
    predicted = _and([f"{c} ({fact.predicted[c]:,} images)" if i == 0 else f"{c} ({fact.predicted[c]:,})"
                      for i, c in enumerate(shown)])
    top = max(fact.mistakes_as, key=fact.mistakes_as.get)
    first = [r["epochs"][0]["test_acc"] for r in others]
    return (f"Its record lists the {fact.mistakes:,} test images its final model got wrong and what it "
            f"predicted. Over all {int(fact.confusion.sum()):,} test images it predicted only {len(shown)} "
            f"classes: {predicted}; never {_and(map(str, fact.never_predicted), 'or')}. "
            f"{fact.mistakes_as[top]:,} of its {fact.mistakes:,} mistakes were predictions of {top}. It went wrong at once: "
            f"{fact.test_acc[0]:.2f}% after its first epoch, never above {max(fact.test_acc):.2f}% (the other "
            f"seeds: {_and(f'{a:.2f}%' for a in first)} after one epoch), its test loss only from "
            f"{fact.test_loss[0]:.2f} to {fact.test_loss[-1]:.2f}.")


def _and(items, word: str = "and") -> str:
    """Words as a sentence lists them: "6", "6 and 7", "1, 2 or 3"."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} {items[-1]}"
