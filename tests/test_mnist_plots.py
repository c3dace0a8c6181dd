"""Part 2's summary figures keep their accuracy axis on the runs that learned, and mark the rest; the
parameters-against-accuracy figure names every dot, each name on its own dot."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from s6lib.analysis import results  # noqa: E402
from s6lib.analysis.ablations import compare_all  # noqa: E402
from s6lib.analysis.results import Summary  # noqa: E402
from s6lib.lab import experiments
from s6lib.mnist.plots import focus_range, plot_differences, plot_params_vs_accuracy  # noqa: E402

from conftest import ROOT  # noqa: E402


def summary(key, finals, parameters=17_022, group="dropout"):
    return Summary(key=key, group=group, change="", model="", parameters=parameters, rf=24,
                   planned=len(finals), seeds=tuple(range(1, len(finals) + 1)), finals=tuple(finals),
                   min_last=tuple(finals), best_epochs=(15,) * len(finals),
                   first_reach=(None,) * len(finals), devices=("cpu",) * len(finals),
                   statuses=("complete",) * len(finals))


# no-bn's seed 2 stuck at 29.41% while the others reached 99.4: the grid's real shape.
SUMMARIES = [summary("fast", [99.52, 99.55, 99.61], group="training"),
             summary("pool-none", [99.05, 99.09, 99.13], group="pooling"),
             summary("no-bn", [99.44, 29.41, 99.36], parameters=16_834, group="batchnorm")]


def test_focus_range_leaves_out_a_run_that_failed_to_learn():
    low, high = focus_range([99.52, 99.55, 99.05, 29.41, 99.44])
    assert 98.9 < low < 99.05 and 99.55 < high <= 100
    assert focus_range([99.9, 100.0])[1] == 100  # never past 100


def texts(ax):
    return " ".join(t.get_text() for t in ax.texts) + " " + ax.get_title()


def test_differences_keep_their_axis_on_the_seeds_that_learned_and_mark_the_rest():
    rows = compare_all([summary("fast", [99.52, 99.55, 99.61, 99.53, 99.52], group="training")]
                       + SUMMARIES[1:])
    ax = plot_differences(rows)
    low, high = ax.get_xlim()
    assert -0.7 < low < -0.56 and 0 < high < 0.2  # pool-none's interval, and zero, in view
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["no-bn (−23.5)", "pool-none"]  # largest difference first; the off-axis mean named
    assert "arrow: off the axis" in ax.get_title()
    assert "arrow" not in plot_differences(rows[1:]).get_title()


def test_params_plot_marks_a_mean_below_the_axis_and_stops_at_100():
    ax = plot_params_vs_accuracy(SUMMARIES, baseline="fast", target=99.4)
    low, high = ax.get_ylim()
    assert low > 90 and high <= 100
    assert "no-bn, mean 76.07%" in texts(ax) and "below the axis" in texts(ax)


def test_without_outliers_nothing_is_marked():
    ax = plot_params_vs_accuracy(SUMMARIES[:2], baseline="fast", target=99.4, title="a title")
    assert "below the axis" not in texts(ax) and ax.get_title().startswith("a title")


# The shape of the book's Fig. 8.2: three small designs within 400 parameters and 0.06 points of each
# other, next to a variant of their size, and a column of variants at the baseline's parameter count.
CROWDED = [summary("fast", [99.52, 99.55, 99.61], group="training"),
           summary("small-net6", [99.42, 99.47, 99.51], parameters=7_542, group="small"),
           summary("small-squeeze", [99.40, 99.43, 99.47], parameters=7_760, group="small"),
           summary("small-deep", [99.45, 99.49, 99.53], parameters=7_946, group="small"),
           summary("convs-4", [99.28, 99.32, 99.36], parameters=8_310, group="depth"),
           summary("width-narrow", [99.45, 99.48, 99.50], parameters=9_174, group="width"),
           summary("conv1x1", [99.49, 99.51, 99.54], parameters=13_998, group="conv1x1"),
           summary("transition", [99.41, 99.47, 99.54], parameters=14_958, group="conv1x1"),
           summary("fc-head", [99.48, 99.49, 99.51], parameters=17_432, group="head"),
           summary("width-wide", [99.56, 99.58, 99.61], parameters=19_686, group="width"),
           summary("convs-6", [99.48, 99.53, 99.56], parameters=19_950, group="depth"),
           summary("no-bn", [99.44, 29.41, 99.36], parameters=16_834, group="batchnorm")]
CROWDED += [summary(f"variant-{i}", [99.40 + 0.01 * i, 99.45 + 0.005 * i, 99.50], group=f"group-{i % 9}")
            for i in range(12)]


def recorded_summaries():
    runs = ROOT / experiments.RUNS_DIR
    from s6lib.lab.runs import load_runs
    return results.summarize(load_runs("ablations", runs)) + results.summarize(load_runs("small", runs))


def dots(ax) -> dict:
    """The (x, y) of every dot drawn in `ax`, from the artists themselves."""
    return [tuple(xy) for line in ax.lines if line.get_marker() == "o" for xy in line.get_xydata()]


@pytest.mark.parametrize("source", ["crowded", "records"])
def test_every_dot_of_the_params_plot_is_named_and_each_name_sits_on_its_own_dot(source):
    shown = CROWDED if source == "crowded" else recorded_summaries()
    if not any(s.n for s in shown):
        pytest.skip("no complete run recorded")
    ax = plot_params_vs_accuracy(shown, baseline="fast", target=99.4, budget=8_000, title="a title")
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    low = ax.get_ylim()[0]
    complete = [s for s in shown if s.n]
    column = [s for s in complete if s.parameters == 17_022]
    scatter = {s.key: s for s in complete if s.mean >= low and s not in column[1:] or s.key == "fast"}
    labels = {t.get_text(): t for t in ax.texts if t.get_text() in scatter}
    assert sorted(labels) == sorted(scatter), "every dot of the scatter off the crowded column is named once"
    drawn = np.array(ax.transData.transform(dots(ax)))
    boxes = {}
    for name, label in labels.items():
        s = scatter[name]
        assert np.allclose(label.xy, (s.parameters, s.mean)), f"{name}'s label points at {label.xy}"
        box = matplotlib.text.Text.get_window_extent(label, renderer)
        boxes[name] = box
        assert ax.get_window_extent(renderer).contains(box.x0, box.y0) and \
            ax.get_window_extent(renderer).contains(box.x1, box.y1), f"{name}'s label leaves the axes"
        own = ax.transData.transform((s.parameters, s.mean))
        gaps = [np.hypot(max(box.x0 - x, 0, x - box.x1), max(box.y0 - y, 0, y - box.y1)) for x, y in drawn]
        nearest = drawn[int(np.argmin(gaps))]
        if label.arrow_patch is None:  # a name with no line to its dot sits nearer to it than to any other
            assert np.allclose(nearest, own), f"{name}'s label is nearer another dot than its own"
        else:  # a name with a line: the line ends at its own dot
            end = label.arrow_patch.get_path().vertices[-1]
            end = label.arrow_patch.get_transform().transform(end)
            assert np.hypot(*(end - own)) < 10, f"{name}'s line ends {np.hypot(*(end - own)):.0f} px from its dot"
    for a in boxes:
        for b in boxes:
            assert a == b or not boxes[a].overlaps(boxes[b]), f"the labels {a} and {b} overlap"
    # The crowded column, below: one named row per experiment, its dot at the experiment's mean.
    assert len(fig.axes) == 2
    rows = fig.axes[1]
    names = [t.get_text().split(" (")[0] for t in rows.get_yticklabels()]
    assert sorted(names) == sorted(s.key for s in column)
    by_row = {round(y): x for x, y in dots(rows)}
    for y, name in enumerate(names):
        s = next(s for s in column if s.key == name)
        if s.mean >= low:
            assert np.isclose(by_row[y], s.mean), f"row {name}: dot at {by_row[y]}, mean {s.mean}"
    assert rows.get_xlim() == ax.get_ylim(), "the rows below share the scatter's accuracy range"
    colours = {tuple(matplotlib.colors.to_rgb(line.get_color())) for a in fig.axes for line in a.lines
               if line.get_marker() == "o"}
    assert len(colours) <= 3 and ax.get_legend() is None, "no legend of colours that no reader can match"


MARGIN_PX = 2  # at 100 px per inch, as shown: a gap between a count and its cell's edge


def test_every_count_of_the_confusion_matrix_stays_inside_its_cell():
    """Counts of four digits ("4890" on the diagonal) run into neither their neighbours nor the ticks."""
    from s6lib.mnist.plots import plot_confusion

    cm = np.diag([4890, 5673, 5138, 5036, 4887, 4420, 4753, 5125, 4848, 5003]) + np.eye(10, k=1, dtype=int) * 17
    ax = plot_confusion(cm, title="5 seeds × 10,000 test images")  # laid out as the training chapter shows it
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
    spines = [s.get_window_extent(renderer) for s in ax.spines.values() if s.get_visible()]
    counts = [t for t in ax.texts if t.get_text().isdigit()]
    assert len(counts) == np.count_nonzero(cm)
    for text in counts:
        j, i = text.get_position()
        (x0, y0), (x1, y1) = ax.transData.transform([(j - 0.5, i + 0.5), (j + 0.5, i - 0.5)])
        box = text.get_window_extent(renderer).padded(MARGIN_PX)
        assert x0 <= box.x0 and box.x1 <= x1 and y0 <= box.y0 and box.y1 <= y1, \
            f"{text.get_text()} at ({i}, {j}) comes within {MARGIN_PX} px of its cell's edge"
        assert not any(box.overlaps(edge) for edge in ticks + spines), \
            f"{text.get_text()} runs into a tick or an axis line"
