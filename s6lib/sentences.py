"""The sentences the net6 and ablations chapters still take from the library: s6lib.results'
numbers put into words. (The training chapter, Going further and the Methods appendix write their
own prose, with numbers glued in; these functions are to follow them into their chapters.)

    summaries = results.summarize(runs)
    Markdown(sentences.trials_markdown(summaries))
"""

from __future__ import annotations

import html
from typing import Sequence

from . import experiments as ex
from . import original
from .recipes import display_name
from .results import Summary, _short, device_label, experiment
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


def _pct(mean: float, std: float | None) -> str:
    return f"{mean:.2f} ± {std:.2f}%" if std is not None else f"{mean:.2f}%"


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
