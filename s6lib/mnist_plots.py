"""Part 2's figures (the MNIST CNN), drawn with Matplotlib only: learning curves, final
accuracies by seed, the confusion matrix, a gallery of digits, and parameters against accuracy.

They take the tables of s6lib.results (pandas), never records read from disk, so the chapters
decide which runs a figure shows.
"""

import collections

import matplotlib.pyplot as plt
import numpy as np

_CURVE_PANELS = (  # the original's drawLossAccuracyPlots layout: losses on top, accuracies below
    ("train_loss", "training loss"), ("test_loss", "test loss"),
    ("train_acc", "training accuracy (%)"), ("test_acc", "test accuracy (%)"),
)


def plot_training_curves(frame, hue="recipe", band="minmax", original=None, overlay=None,
                         overlay_label="live run", target=None, zoom=True):
    """Mean curve per `hue` group with a band across seeds, in a 2×2 grid (train/test loss, train/test accuracy).

    `frame` is `records.epochs_frame(...)` (one row per run and epoch); `band` is "minmax" (the lowest
    and highest seed) or "std" (±1 standard deviation). `original` is a sequence of test accuracies
    (one run) drawn as a dashed line; `overlay` one record's `epochs` rows drawn on top; `target`
    a horizontal line on the test-accuracy panel. With `zoom`, the accuracy panels leave out the
    first epochs' low values.
    """
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    for i, (name, group) in enumerate(frame.groupby(hue, sort=False)):
        color = f"C{i}"
        stats = group.groupby("epoch")[[c for c, _ in _CURVE_PANELS]]
        mean = stats.mean()
        low, high = (stats.min(), stats.max()) if band == "minmax" else (mean - stats.std(), mean + stats.std())
        seeds = group["seed"].nunique()
        for ax, (col, _) in zip(axes.flat, _CURVE_PANELS):
            ax.plot(mean.index, mean[col], color=color, label=f"{name} (mean of {seeds} seed{'s' * (seeds != 1)})")
            if seeds > 1:
                ax.fill_between(mean.index, low[col], high[col], color=color, alpha=0.2, lw=0)
    if original is not None:
        axes[1, 1].plot(np.arange(1, len(original) + 1), original, "k--", lw=1.2, label="original (one run)")
    if overlay is not None:
        rows = list(overlay)
        for ax, (col, _) in zip(axes.flat, _CURVE_PANELS):
            ax.plot([r["epoch"] for r in rows], [r[col] for r in rows], color="crimson", lw=1.5, marker=".",
                    label=overlay_label)
    if target is not None:
        axes[1, 1].axhline(target, color="0.4", lw=1, ls=":", label=f"{target:g}%")
    for ax, (col, title) in zip(axes.flat, _CURVE_PANELS):
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        if zoom and col.endswith("acc") and len(frame):
            late = list(frame[frame["epoch"] >= min(3, frame["epoch"].max())][col])
            if original is not None and col == "test_acc":
                late += list(original[2:])
            if overlay is not None:
                late += [r[col] for r in overlay][2:]
            ax.set_ylim(max(min(late) - 0.3, 0), min(max(late) + 0.2, 100))
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    handles, labels = axes[1, 1].get_legend_handles_labels()
    if handles:
        axes[1, 1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_final_accuracies(seed_frame, original=None, target=None, ax=None, column="final test acc"):
    """One dot per seed, one row per experiment: the spread a single run hides.

    `seed_frame` is `results.seed_table(...)`; rows without a number (not run yet) are left out and
    counted in the label. `original` is one accuracy drawn as a star."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.8 + 0.6 * seed_frame["experiment"].nunique()))
    keys = list(dict.fromkeys(seed_frame["experiment"]))
    for y, key in enumerate(keys):
        rows = seed_frame[seed_frame["experiment"] == key]
        done = rows[rows[column].notna()]
        ax.scatter(done[column], [y] * len(done), s=40, color=f"C{y}", zorder=3)
        for _, row in done.iterrows():
            ax.annotate(f"s{row['seed']}", (row[column], y), xytext=(0, 6), textcoords="offset points",
                        ha="center", fontsize=7, color="0.35")
    ax.set_yticks(range(len(keys)))
    ax.set_yticklabels([f"{k} ({int(seed_frame[seed_frame['experiment'] == k][column].notna().sum())}/"
                        f"{int((seed_frame['experiment'] == k).sum())} seeds)" for k in keys])
    if original is not None:
        ax.scatter([original], [-0.7], marker="*", s=120, color="k", zorder=3)
        ax.annotate("original (one run)", (original, -0.7), xytext=(6, -3), textcoords="offset points", fontsize=8)
        ax.set_ylim(-1.3, len(keys) - 0.4)
    if target is not None:
        ax.axvline(target, color="0.4", lw=1, ls=":")
    ax.set_xlabel(f"{column} (%)")
    ax.grid(alpha=0.3, axis="x")
    ax.figure.tight_layout()
    return ax


def plot_confusion(cm, ax=None, title=None):
    """Confusion matrix: the errors (off the diagonal) coloured by count, the diagonal in grey."""
    cm = np.asarray(cm)
    errors = cm.astype(float).copy()
    np.fill_diagonal(errors, np.nan)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 5.6))
    image = ax.imshow(errors, cmap="Reds", vmin=0, vmax=max(np.nanmax(errors), 1))
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if i == j:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, color="0.88"))
                ax.text(j, i, f"{cm[i, j]}", ha="center", va="center", fontsize=6.5, color="0.3")
            elif cm[i, j]:
                dark = cm[i, j] > 0.6 * np.nanmax(errors)
                ax.text(j, i, f"{cm[i, j]}", ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title, fontsize=10)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="errors")
    return ax


def plot_digit_gallery(images, rows, ncols=8, seeds=None):
    """Test digits with "true → predicted" and how many seeds got each wrong (of `seeds`) above each.

    `images` is [N, 28, 28]; `rows` is `results.hardest_digits(...)` (index, true, predicted, seeds wrong)."""
    n = len(rows)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.35 * ncols, 1.6 * nrows), squeeze=False)
    for ax, (_, row) in zip(axes.flat, rows.iterrows()):
        ax.imshow(images[int(row["index"])], cmap="gray_r")
        wrong = f"{row['seeds wrong']}/{seeds}" if seeds else f"{row['seeds wrong']}×"
        ax.set_title(f"{row['true']} → {row['predicted']}  ({wrong})", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def plot_params_vs_accuracy(summaries, ax=None, target=None, budget=None, baseline=None):
    """Mean final test accuracy against parameters, one point per experiment, error bars from the
    lowest to the highest seed. `summaries` are `results.Summary` objects; those without a complete
    run are left out (and counted in the title).

    Many variants share the baseline's parameter count; among those only the ones whose mean lies
    outside the `baseline` experiment's seed range are labelled, so the labels stay readable."""
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 5.5))
    tab20 = plt.get_cmap("tab20")
    cmap = lambda i: tab20((2 * i) % 20 + (2 * i) // 20)  # noqa: E731  the dark shades first, then the light
    groups = list(dict.fromkeys(s.group for s in summaries))
    shown = [s for s in summaries if s.n]
    common = collections.Counter(s.parameters for s in shown).most_common(1)
    crowded = common[0][0] if common and common[0][1] > 3 else None
    base = next((s for s in shown if s.key == baseline), None)
    for s in shown:
        color = cmap(groups.index(s.group) % 20)
        ax.errorbar(s.parameters, s.mean, yerr=[[s.mean - min(s.finals)], [max(s.finals) - s.mean]],
                    fmt="o", color=color, ms=5, capsize=3, lw=1, alpha=0.85)
        outside = base is not None and not min(base.finals) <= s.mean <= max(base.finals)
        if s.parameters != crowded or outside or s is base:
            ax.annotate(s.key, (s.parameters, s.mean), xytext=(4, 3), textcoords="offset points", fontsize=7)
    for g in groups:  # one legend entry per group
        if any(s.group == g for s in shown):
            ax.plot([], [], "o", color=cmap(groups.index(g) % 20), label=g)
    if target is not None:
        ax.axhline(target, color="0.4", lw=1, ls=":")
    if budget is not None:
        ax.axvline(budget, color="0.4", lw=1, ls="--")
    ax.set_xlabel("parameters")
    ax.set_ylabel("final test accuracy (%), mean and seed range")
    ax.grid(alpha=0.3)
    if shown:
        ax.legend(fontsize=8, ncol=2)
    notes = []
    if crowded is not None:
        n = sum(s.parameters == crowded for s in shown)
        notes.append(f"{n} experiments at {crowded:,} parameters; labelled where outside the baseline's range")
    if len(shown) < len(summaries):
        notes.append(f"not run yet, so not shown: {len(summaries) - len(shown)} of {len(summaries)}")
    if notes:
        ax.set_title("\n".join(notes), fontsize=9)
    return ax
