"""Part 2's figures (the MNIST CNN), drawn with Matplotlib only: learning curves, final
accuracies by seed, the confusion matrix, a gallery of digits, parameters against accuracy, and
each ablation's difference from the baseline with its interval.

They take the tables of s6lib.analysis.results (pandas), never records read from disk, so the chapters
decide which runs a figure shows. All follow the house style (s6lib.book.style).
"""

import collections
import textwrap
import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.gridspec import GridSpec
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, LogLocator, MaxNLocator, NullFormatter, NullLocator
from matplotlib.transforms import Bbox

from s6lib.book import style

_CURVE_PANELS = (  # the original's drawLossAccuracyPlots layout: losses on top, accuracies below
    ("train_loss", "training loss"), ("test_loss", "test loss"),
    ("train_acc", "training accuracy (%)"), ("test_acc", "test accuracy (%)"),
)
_ACCURACY_TICKS = (50, 80, 90, 95, 98, 99, 99.5, 99.8)  # shown on the error-rate axis, as accuracies


def accuracy_axis(ax, accuracies) -> None:
    """Plot accuracies as error rates (100 − accuracy) on a log axis, upside down and labelled as
    accuracies: 90% and 99.5% both get room, nothing is clipped, and the axis never passes 100%."""
    ax.set_yscale("log")
    errors = 100 - np.asarray([a for a in accuracies if a < 100], dtype=float)
    low, high = (errors.min(), errors.max()) if len(errors) else (0.1, 10)
    ax.set_ylim(high * 1.3, low / 1.3)  # inverted: higher accuracy is higher up
    ticks = [t for t in _ACCURACY_TICKS if low / 1.3 <= 100 - t <= high * 1.3]
    ax.yaxis.set_major_locator(FixedLocator([100 - t for t in ticks]))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_yticklabels([f"{t:g}" for t in ticks])


def focus_range(accuracies, reach=1.0) -> tuple[float, float]:
    """Where a summary plot's accuracy axis runs: from the lowest value within `reach` points of the
    median to the highest, padded, never past 100. A run that failed to learn (no-bn's seed 2 sits
    at 29%) would otherwise squash every other point into one line; the plots mark such values at
    the axis edge with their number instead."""
    mid = float(np.median(accuracies))
    kept = [a for a in accuracies if a >= mid - reach]
    pad = max(0.05, 0.08 * (max(kept) - min(kept)))
    return min(kept) - pad, min(100.0, max(kept) + pad)


def _off_axis(ax, text, at, vertical) -> None:
    """Mark a value below the focused range at the axis edge `at`, with `text` (its number)."""
    if vertical:  # accuracy on y: a downward triangle on the bottom edge, text to its left
        ax.plot(*at, "v", color="0.3", ms=7, clip_on=False, zorder=5)
        ax.annotate(text, at, xytext=(-7, 3), textcoords="offset points", ha="right", va="bottom", color="0.3")
    else:  # accuracy on x: a leftward triangle on the left edge, text to its right
        ax.plot(*at, "<", color="0.3", ms=7, clip_on=False, zorder=5)
        ax.annotate(text, at, xytext=(8, 0), textcoords="offset points", va="center", color="0.3")


@style.styled
def plot_training_curves(frame, hue="recipe", band="minmax", original=None, overlay=None,
                         overlay_label="live run", target=None):
    """Mean curve per `hue` group with a band across seeds, in a 2×2 grid (train/test loss, train/test
    accuracy). Losses are on a log axis; accuracies on an error-rate axis (`accuracy_axis`).

    `frame` is `results.epochs_frame(...)` (one row per run and epoch); `band` is "minmax" (the lowest
    and highest seed) or "std" (±1 standard deviation). `original` is a sequence of test accuracies
    (one run) drawn as a dashed line; `overlay` one record's `epochs` rows drawn on top; `target`
    a horizontal line on the test-accuracy panel.
    """
    fig, axes = plt.subplots(2, 2, figsize=(style.WIDTH, 6.4), sharex=True)
    panels = dict(zip((c for c, _ in _CURVE_PANELS), axes.flat))
    drawn = collections.defaultdict(list)  # panel column -> every value drawn in it

    def y(col, values):  # what a panel plots: losses as they are, accuracies as error rates
        values = np.asarray(values, dtype=float)
        drawn[col] += list(values)
        return 100 - values if col.endswith("acc") else values

    for i, (name, group) in enumerate(frame.groupby(hue, sort=False)):
        stats = group.groupby("epoch")[list(panels)]
        mean = stats.mean()
        low, high = (stats.min(), stats.max()) if band == "minmax" else (mean - stats.std(), mean + stats.std())
        seeds = group["seed"].nunique()
        for col, ax in panels.items():
            ax.plot(mean.index, y(col, mean[col]), color=f"C{i}",
                    label=f"{name} ({seeds} seed{'s' * (seeds != 1)})")
            if seeds > 1:
                ax.fill_between(mean.index, y(col, low[col]), y(col, high[col]), color=f"C{i}", alpha=0.2, lw=0)
    if original is not None:
        panels["test_acc"].plot(np.arange(1, len(original) + 1), y("test_acc", original), "k--", lw=1.2,
                                label="original (one run)")
    if overlay is not None:
        rows = list(overlay)
        for col, ax in panels.items():
            ax.plot([r["epoch"] for r in rows], y(col, [r[col] for r in rows]), color="crimson", lw=1.5,
                    marker=".", label=overlay_label)
    if target is not None:
        panels["test_acc"].axhline(y("test_acc", [target])[0], color="0.4", lw=1, ls=":", label=f"{target:g}%")
    for (col, title), ax in zip(_CURVE_PANELS, axes.flat):
        ax.set_title(title)
        style.integer_epochs(ax)
        if col.endswith("acc"):
            accuracy_axis(ax, drawn[col])
        else:
            ax.set_yscale("log")  # labels at 1, 2 and 5 per decade: every one legible
            ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
            ax.yaxis.set_major_formatter(lambda v, _: f"{v:g}")
            ax.yaxis.set_minor_formatter(NullFormatter())
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    handles, labels = panels["test_acc"].get_legend_handles_labels()
    if handles:  # under the panels, where it covers no curve
        rows = -(-len(handles) // 2)
        fig.legend(handles, labels, loc="lower center", ncols=2, bbox_to_anchor=(0.5, 0))
        fig.tight_layout(rect=(0, 0.045 * rows + 0.01, 1, 1))
    else:
        fig.tight_layout()
    return fig


@style.styled
def plot_final_accuracies(tables: dict, original=None, target=None, ax=None, column="final test acc (%)"):
    """One dot per seed, one row per experiment: the spread a single run hides.

    `tables` maps a label to `results.seed_table(...)`; seeds without a number (not run yet) are left
    out and counted in the label. `original` is one run's accuracy, drawn as a star on a row of its own."""
    labels = list(tables)
    rows = len(labels) + (original is not None)
    if ax is None:
        _, ax = plt.subplots(figsize=(style.WIDTH, 0.9 + 0.55 * rows))
    for y, label in enumerate(labels):
        table = tables[label]
        done = table[table[column].notna()]
        ax.scatter(done[column], [y] * len(done), s=45, color=f"C{y}", alpha=0.75, zorder=3)
        for value, n in collections.Counter(done[column]).items():
            if n > 1:  # seeds that ended exactly level share a dot: say how many
                ax.annotate(f"{n}×", (value, y), xytext=(0, 7), textcoords="offset points", ha="center")
    names = [f"{label} ({int(tables[label][column].notna().sum())} of {len(tables[label])} seeds)"
             for label in labels]
    if original is not None:
        ax.scatter([original], [len(labels)], marker="*", s=160, color="k", zorder=3)
        names.append("original (one run)")
    if target is not None:
        ax.axvline(target, color="0.4", lw=1, ls=":")
    ax.set_yticks(range(rows))
    ax.set_yticklabels(names)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xlabel(column)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))  # ticks on round hundredths
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:.2f}")
    ax.grid(False, axis="y")
    ax.figure.tight_layout()
    return ax


@style.styled
def plot_confusion(cm, ax=None, title=None):
    """Confusion matrix: the errors (off the diagonal) coloured by count, the diagonal in grey, every
    cell's count printed in it at the house style's smallest text size."""
    cm = np.asarray(cm)
    errors = cm.astype(float).copy()
    np.fill_diagonal(errors, np.nan)
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(style.WIDTH, 5.2))
    # cells as wide as the axes allow (wider than tall), so that a count of 4 digits stays inside its cell
    ax.imshow(errors, cmap="Reds", vmin=0, vmax=max(np.nanmax(errors), 1), aspect="auto")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if i == j:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, color="0.88"))
                ax.text(j, i, f"{cm[i, j]}", ha="center", va="center", fontsize=style.MIN_FONT_PT, color="0.3")
            elif cm[i, j]:
                dark = cm[i, j] > 0.6 * np.nanmax(errors)
                ax.text(j, i, f"{cm[i, j]}", ha="center", va="center", fontsize=style.MIN_FONT_PT,
                        color="white" if dark else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.tick_params(length=0)  # no tick marks or spines over the edge cells' counts
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    ax.grid(False)  # no colour bar: every cell prints its count, and the cells get its width
    if own_figure:
        ax.figure.tight_layout(pad=0.3)  # the whole width for the cells: a count of 4 digits needs 40 of their 45 px
    return ax


@style.styled
def plot_digit_gallery(images, rows, ncols=6, seeds=None):
    """Test digits with "true → predicted" and how many seeds got each wrong (of `seeds`) above each.

    `images` is [N, 28, 28]; `rows` is `mistakes.hardest_digits(...)` (index, true, predicted, seeds wrong)."""
    n = len(rows)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(style.WIDTH, 1.35 * nrows), squeeze=False)
    for ax, (_, row) in zip(axes.flat, rows.iterrows()):
        ax.imshow(images[int(row["index"])], cmap="gray_r")
        wrong = f"{row['seeds wrong']}/{seeds}" if seeds else f"{row['seeds wrong']}×"
        ax.set_title(f"{row['true']}→{row['predicted']} {wrong}", fontsize=style.MIN_FONT_PT)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


@style.styled
def plot_params_vs_accuracy(summaries, ax=None, target=None, budget=None, baseline=None, title=None):
    """Mean final test accuracy against parameters, one point per experiment, error bars from the
    lowest to the highest seed, every point named. `summaries` are `results.Summary` objects; those
    without a complete run are left out (and counted under the `title`).

    Many variants share the `baseline`'s parameter count and would stand in one column of unreadable
    labels: that column is drawn in grey behind the baseline's dot, and again in a panel of its own
    below, one named row per experiment, on the same accuracy scale. Returns the scatter's axes (the
    column's are `ax.figure.axes[1]`); with `ax` given, the scatter only."""
    shown = [s for s in summaries if s.n]
    base = next((s for s in shown if s.key == baseline), None)
    crowded = base.parameters if base is not None else None
    column = [s for s in shown if s.parameters == crowded and s is not base]
    low, high = focus_range([s.mean for s in shown]) if shown else (None, None)
    in_view = [s for s in shown if s.mean >= low]
    rows = [base] + column if column and ax is None else []
    under = None
    if ax is None:  # each panel in a grid of its own, so that the long names below leave the scatter wide
        below = 0.7 + 0.19 * len(rows) if rows else 0
        fig = plt.figure(figsize=(style.WIDTH, 4.6 + below))
        top = GridSpec(1, 1, figure=fig)
        ax = fig.add_subplot(top[0])
        if rows:
            bottom = GridSpec(1, 1, figure=fig)
            under = fig.add_subplot(bottom[0])
    for s in shown:
        if s.mean < low:
            _off_axis(ax, f"{s.key}, mean {s.mean:.2f}%\n(below the axis)", (s.parameters, low), vertical=True)
    for s in in_view:
        grey = s in column
        ax.errorbar(s.parameters, s.mean, yerr=_seed_range(s), fmt="o", ms=4 if grey else 5,
                    color="0.65" if grey else _dot_colour(s, base), capsize=0 if grey else 3, lw=1,
                    zorder=2 if grey else 3)
    if target is not None:
        ax.axhline(target, color="0.4", lw=1, ls=":")
    if budget is not None:
        ax.axvline(budget, color="0.4", lw=1, ls="--")
    ax.set_xlabel("parameters")
    ax.set_ylabel("final test accuracy (%)")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 4, 5, 10]))
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:,.0f}")
    if shown:
        ax.set_ylim(low, high)
        least, most = min(s.parameters for s in shown), max(s.parameters for s in shown)
        span = max(most - least, 1)
        ax.set_xlim(least - 0.12 * span, most + 0.3 * span)  # room for the labels of the points at either end
    notes = []
    if column:
        where = "each named below" if under else "not labelled"
        notes.append(f"grey: {len(column)} more experiments at {baseline}'s {crowded:,} parameters, {where}")
    if len(shown) < len(summaries):
        notes.append(f"not run yet, so not shown: {len(summaries) - len(shown)} of {len(summaries)}")
    if title or notes:
        lines = [wrapped for line in ([title] if title else []) + notes for wrapped in textwrap.wrap(line, 56)]
        ax.set_title("\n".join(lines), fontsize=style.MIN_FONT_PT)  # lines no wider than the figure
    if under is not None:
        _draw_rows(under, rows, base, low, high, target, f"the {len(rows)} experiments with {crowded:,} parameters")
    if under is None:
        ax.figure.tight_layout()
    else:
        split = below / (4.6 + below)
        with warnings.catch_warnings():  # each grid is laid out alone: the other grid's axes are not its to place
            warnings.filterwarnings("ignore", "This figure includes Axes that are not compatible")
            top.tight_layout(fig, rect=(0, split, 1, 1))
            bottom.tight_layout(fig, rect=(0, 0, 1, split))
    if shown:
        _place_labels(ax, [(s.key, s.parameters, s.mean) for s in in_view if s not in column],
                      keep_clear=[(s.parameters, min(s.finals), s.parameters, max(s.finals)) for s in in_view
                                  if s in column])
    return ax


def _seed_range(s):
    return [[s.mean - min(s.finals)], [max(s.finals) - s.mean]]


def _dot_colour(s, base):
    return "k" if s is base else "C0"


def _draw_rows(ax, rows, base, low, high, target, title) -> None:
    """Experiments that share one parameter count, one named row each, highest mean first: the mean
    as a dot, a bar from the lowest to the highest seed, on the accuracy range [low, high]. A mean
    below `low` is marked at the edge with its number."""
    rows = sorted(rows, key=lambda s: -s.mean)
    for y, s in enumerate(rows):
        colour = _dot_colour(s, base)
        ax.plot([max(min(s.finals), low), min(max(s.finals), high)], [y, y], color=colour, lw=1)
        if s.mean >= low:
            ax.plot(s.mean, y, "o", color=colour, ms=5, zorder=3)
        else:
            ax.plot(low, y, "<", color="0.3", ms=7, clip_on=False, zorder=5)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([s.key + (f" (mean {s.mean:.2f})" if s.mean < low else "") for s in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(low, high)
    if target is not None:
        ax.axvline(target, color="0.4", lw=1, ls=":")
    ax.set_xlabel("final test accuracy (%)")
    ax.set_title(title, fontsize=style.MIN_FONT_PT)
    ax.grid(False, axis="y")


_LEADER = {"arrowstyle": "-", "color": "0.3", "lw": 0.8, "shrinkA": 1, "shrinkB": 4}  # a label's line to its dot
_NEAR = 8  # points: a label this close to its dot, and nearer to it than to any other, needs no line
# where a label may go, nearest first: (distance in points, direction in degrees)
_LABEL_SPOTS = tuple((r, a) for r in (5, 14, 24, 36, 50, 66)
                     for a in (0, 180, 30, -30, 150, -150, 60, -60, 120, -120, 90, -90))


def _spot(r, angle):
    """The offset (points) and the alignment that put a label's nearest edge at `r` points from its
    dot in the direction `angle`."""
    dx, dy = r * np.cos(np.radians(angle)), r * np.sin(np.radians(angle))
    ha = "left" if dx > 1 else "right" if dx < -1 else "center"
    va = "bottom" if dy > 1 else "top" if dy < -1 else "center"
    return (dx, dy), ha, va


def _place_labels(ax, points, keep_clear=()) -> None:
    """Label each (text, x, y) point of `ax` at the first of _LABEL_SPOTS where the text stays inside
    the axes, covers no dot and no label placed before it, and its line to the dot (if
    it needs one) crosses none of them. A label beside its dot gets no line only where that dot is the
    one nearest to it. Points with the closest neighbours are labelled first, so that they get the
    spots nearest to them. `keep_clear` are more (x0, y0, x1, y1) boxes in data units (unnamed dots and
    their bars) that labels must not cover."""
    fig = ax.figure
    fig.canvas.draw()  # fixes the limits, so that data map to pixels
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    px = fig.dpi / 72  # pixels per point
    dots = ax.transData.transform([(x, y) for _, x, y in points]).reshape(-1, 2)
    radius = 4.5 * px
    clear_of = [Bbox(ax.transData.transform([(x0, y0), (x1, y1)])).padded(radius) for x0, y0, x1, y1 in keep_clear]

    def crowding(i):
        others = np.delete(dots, i, axis=0)
        return np.min(np.hypot(*(others - dots[i]).T)) if len(others) else np.inf

    taken = []
    for i in sorted(range(len(points)), key=crowding):
        text, x, y = points[i]
        for r, angle in _LABEL_SPOTS:
            offset, ha, va = _spot(r, angle)
            near = r <= _NEAR
            label = ax.annotate(text, (x, y), xytext=offset, textcoords="offset points", ha=ha, va=va,
                                fontsize=style.MIN_FONT_PT, arrowprops=None if near else _LEADER)
            box = _text_box(label, renderer).padded(1.5 * px)
            start = dots[i] + np.array(offset) * px  # where the line leaves the label
            clear = (inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
                     and not any(box.overlaps(other) for other in taken + clear_of)
                     and all(_gap(box, d) > radius for d in dots))
            if clear and not near:  # the line passes no other dot and no other label
                clear = (all(_segment_gap(d, start, dots[i]) > radius for k, d in enumerate(dots) if k != i)
                         and not any(_crosses(other, start, dots[i]) for other in taken))
            if clear and (not near or min(range(len(dots)), key=lambda k: _gap(box, dots[k])) == i):
                taken.append(box)
                break
            label.remove()
        else:  # no spot is free: the nearest one beside the dot, with its line
            offset, ha, va = _spot(*_LABEL_SPOTS[12])
            label = ax.annotate(text, (x, y), xytext=offset, textcoords="offset points", ha=ha, va=va,
                                fontsize=style.MIN_FONT_PT, arrowprops=_LEADER)
            taken.append(_text_box(label, renderer))


def _text_box(label, renderer):
    """The pixels an annotation's text covers, without its line."""
    label.update_positions(renderer)
    return Text.get_window_extent(label, renderer)


def _gap(box, at) -> float:
    """Pixels from a box to a point, 0 inside it."""
    return float(np.hypot(max(box.x0 - at[0], 0, at[0] - box.x1), max(box.y0 - at[1], 0, at[1] - box.y1)))


def _segment_gap(at, a, b) -> float:
    """Pixels from the point `at` to the segment from `a` to `b`."""
    ab, t = b - a, 0.0
    if ab @ ab > 0:
        t = float(np.clip((at - a) @ ab / (ab @ ab), 0, 1))
    return float(np.hypot(*(at - (a + t * ab))))


def _crosses(box, a, b, samples=24) -> bool:
    """Whether the segment from `a` to `b` (pixels) passes through `box`."""
    return any(box.contains(*(a + t * (b - a))) for t in np.linspace(0, 1, samples))


@style.styled
def plot_differences(rows, ax=None):
    """One row per experiment, in the order given (s6lib.analysis.ablations.compare_all: largest difference
    first): the difference of its mean from the baseline's as a dot, its 95% interval as a bar, a
    filled dot where the interval leaves out zero and an open one where it does not. A difference
    far off the axis (a failed seed) is marked at the edge with its number."""
    shown = [r for r in rows if r.difference.low is not None]
    if ax is None:
        _, ax = plt.subplots(figsize=(style.WIDTH, 1.2 + 0.17 * max(len(shown), 1)))
    ends = [x for r in shown for x in (r.difference.low, r.difference.high)]
    typical = [x for x in ends if abs(x) <= 2]  # a seed that never learned moves its row by tens of points
    low, high = (min(typical + [0]), max(typical + [0])) if typical else (-1, 1)
    pad = 0.06 * (high - low)
    low, high = low - pad, high + pad
    ax.axvline(0, color="0.3", lw=1)
    for y, r in enumerate(shown):
        d = r.difference
        clear = d.verdict in ("lower", "higher")
        ax.plot([max(d.low, low), min(d.high, high)], [y, y], color="C0", lw=2, solid_capstyle="butt")
        if low <= d.diff <= high:
            ax.plot(d.diff, y, "o", ms=6, color="C0", mfc="C0" if clear else "white", mew=1.5, zorder=3)
        else:  # the dot is off the axis (a failed seed): an arrow at the edge, the mean in the label
            ax.plot(low, y, "<", color="C0", ms=7, clip_on=False, zorder=5)
    off = [r for r in shown if not low <= r.difference.diff <= high]
    ax.set_xlim(low, high)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([r.name + (f" ({style.points(r.difference.diff, 1)})" if r in off else "")
                        for r in shown])
    ax.set_ylim(len(shown) - 0.5, -0.5)
    ax.set_xlabel("difference from the baseline (points)")
    ax.set_title("dot: difference of the means; bar: 95% interval\nfilled: the interval leaves out 0"
                 + ("\narrow: off the axis (its mean in brackets)" if off else ""), fontsize=11)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    ax.xaxis.set_major_formatter(lambda x, _: style.points(x, 1) if x else "0")
    ax.grid(False, axis="y")
    ax.figure.tight_layout()
    return ax
