"""Part 2's summary figures keep their accuracy axis on the runs that learned, and mark the rest."""

import matplotlib

matplotlib.use("Agg")

from s6lib.ablations import compare_all  # noqa: E402
from s6lib.mnist_plots import focus_range, plot_differences, plot_params_vs_accuracy  # noqa: E402
from s6lib.results import Summary  # noqa: E402


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
    assert "no-bn, mean 76.07% (below the axis)" in texts(ax)


def test_without_outliers_nothing_is_marked():
    ax = plot_params_vs_accuracy(SUMMARIES[:2], baseline="fast", target=99.4, title="a title")
    assert "below the axis" not in texts(ax) and ax.get_title().startswith("a title")
