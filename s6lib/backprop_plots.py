"""Part 1's figures (backprop by hand), drawn with Matplotlib only: the 2-2-2 network with its
values (`draw_network`) and the loss curves of each learning rate (`plot_loss_curves`,
`plot_loss_small_multiples`, `loss_curve_png`).
"""

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyBboxPatch

from s6lib import style
from s6lib.backprop import CLASS_VALUES, check_values

style.use()

_NODE_RADIUS = 0.2
_LAYER_X = {"input": 0.0, "hidden": 2.4, "output": 4.8, "error": 6.9}
_NODES = {  # name: (x, y, label); the second line of a label is filled with values
    "i1": (_LAYER_X["input"], 1.6, "$i_1$"),
    "i2": (_LAYER_X["input"], 0.0, "$i_2$"),
    "h1": (_LAYER_X["hidden"], 1.6, r"$h_1 \to a_{h1}$"),
    "h2": (_LAYER_X["hidden"], 0.0, r"$h_2 \to a_{h2}$"),
    "o1": (_LAYER_X["output"], 1.6, r"$o_1 \to a_{o1}$"),
    "o2": (_LAYER_X["output"], 0.0, r"$o_2 \to a_{o2}$"),
}
_EDGES = {  # weight: (from, to)
    "w1": ("i1", "h1"), "w2": ("i2", "h1"), "w3": ("i1", "h2"), "w4": ("i2", "h2"),
    "w5": ("h1", "o1"), "w6": ("h2", "o1"), "w7": ("h1", "o2"), "w8": ("h2", "o2"),
}


def draw_network(values=CLASS_VALUES, ax=None):
    """The 2-2-2 network with each weight's value on its edge, inputs, targets and biases.

    The labels of crossing edges (w2, w3 and w6, w7) sit near the edges' start,
    where the two are still apart.
    """
    v = check_values(values)
    if ax is None:
        _, ax = plt.subplots(figsize=(style.WIDTH, 3.4))
    for weight, (start, end) in _EDGES.items():
        (x0, y0, _), (x1, y1, _) = _NODES[start], _NODES[end]
        ax.annotate("", (x1 - _NODE_RADIUS, y1), (x0 + _NODE_RADIUS, y0),
                    arrowprops=dict(arrowstyle="-|>", color="0.45", lw=1.2))
        at = 0.5 if y0 == y1 else 0.27
        ax.text(x0 + at * (x1 - x0), y0 + at * (y1 - y0), f"${weight[0]}_{weight[1]}$ = {v[weight]:g}",
                ha="center", va="center", fontsize=9.5, color="#1f4ebf",
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"))
    for name, (x, y, label) in _NODES.items():
        ax.add_patch(Circle((x, y), _NODE_RADIUS, fc="#e8eefc" if name[0] != "i" else "#fdf1d6", ec="0.3"))
        above = y > 0  # top row labelled above, bottom row below: clear of the edges
        ax.text(x, y + (1 if above else -1) * (_NODE_RADIUS + 0.08), label, ha="center",
                va="bottom" if above else "top", fontsize=10)
        if name[0] == "i":
            ax.text(x, y, f"{v[name]:g}", ha="center", va="center", fontsize=9.5)
    for k, y in ((1, 1.6), (2, 0.0)):  # the error of each output against its target
        x = _LAYER_X["error"]
        ax.annotate("", (x - 0.55, y), (_LAYER_X["output"] + _NODE_RADIUS, y),
                    arrowprops=dict(arrowstyle="-|>", color="0.45", lw=1.2))
        ax.add_patch(FancyBboxPatch((x - 0.55, y - 0.22), 1.1, 0.44, boxstyle="round,pad=0.02",
                                    fc="#f3f3f3", ec="0.3"))
        ax.text(x, y, f"$E_{k}$, $t_{k}$ = {v[f't{k}']:g}", ha="center", va="center", fontsize=9.5)
    ax.text(_LAYER_X["error"], 0.8, r"$E_{total} = E_1 + E_2$", ha="center", va="center", fontsize=10)
    for bias, layer in (("b1", "hidden"), ("b2", "output")):
        if v[bias]:
            ax.text(_LAYER_X[layer], 2.3, f"bias ${bias[0]}_{bias[1]}$ = {v[bias]:g}", ha="center", fontsize=9.5)
    for layer, x in list(_LAYER_X.items())[:3]:
        ax.text(x, -0.75, layer, ha="center", fontsize=9.5, color="0.4")
    ax.set_xlim(-0.5, _LAYER_X["error"] + 0.7)
    ax.set_ylim(-0.9, 2.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.grid(False)
    return ax


def plot_loss_curves(curves, ax=None, threshold=None, log=False, floor=None):
    """All loss curves in one axes; `curves` has one column of E_total per learning rate.

    On a log axis, values below `floor` (default: a hundredth of `threshold`, else 1e-12) are not
    drawn: far below it the curves are float64 rounding noise, not learning."""
    if ax is None:
        _, ax = plt.subplots()
    floor = floor if floor is not None else (threshold / 100 if threshold else LOSS_FLOOR)
    for learning_rate, curve in curves.items():
        shown = curve.where(curve >= floor) if log else curve
        ax.plot(shown.index, shown.values, label=f"η = {learning_rate:g}")
    if threshold is not None:
        ax.axhline(threshold, color="0.5", ls="--", lw=1, label=f"threshold {threshold:g}")
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor)
    ax.set_xlabel("step")
    ax.set_ylabel("$E_{total}$")
    ax.legend(ncols=2)
    return ax


def plot_loss_small_multiples(curves, ncols=3):
    """One small panel per learning rate, on shared axes so their shapes compare directly."""
    nrows = -(-len(curves.columns) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(style.WIDTH, 2.3 * nrows), sharex=True, sharey=True,
                             squeeze=False)
    for ax, (learning_rate, curve) in zip(axes.flat, curves.items()):
        ax.plot(curve.index, curve.values)
        ax.set_title(f"η = {learning_rate:g}")
    for ax in axes.flat[len(curves.columns):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("step")
    for ax in axes[:, 0]:
        ax.set_ylabel("$E_{total}$")
    fig.tight_layout()
    return fig


LOSS_FLOOR = 1e-12  # bottom of the log axes: below it the curves have converged to float64 noise


def plot_loss_curve(curve, learning_rate, ax=None, ylim=None, log=False):
    """One loss curve, titled with its learning rate (the sliders' picture); on a log axis, values below
    the axis' bottom are not drawn."""
    if ax is None:
        _, ax = plt.subplots()
    bottom = (ylim[0] if ylim else LOSS_FLOOR) if log else None
    shown = curve.where(curve >= bottom) if log else curve
    ax.plot(shown.index, shown.values, color="C0")
    ax.set_title(f"η = {learning_rate:g}: E_total at step {curve.index[-1]} = {curve.iloc[-1]:.3g}")
    ax.set_xlabel("step")
    ax.set_ylabel("$E_{total}$")
    if log:
        ax.set_yscale("log")
    ax.set_ylim(ylim)
    return ax


def loss_curve_png(curve, learning_rate, ylim=None, log=False):
    """`plot_loss_curve` as PNG bytes (for an ipywidgets Image, which also shows on a static page)."""
    fig, ax = plt.subplots()
    plot_loss_curve(curve, learning_rate, ax=ax, ylim=ylim, log=log)
    data = style.png(fig)
    plt.close(fig)
    return data
