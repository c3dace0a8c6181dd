"""Part 1's figures (backprop by hand), drawn with Matplotlib only: the 2-2-2 network with its
weights, its forward values or its deltas (`draw_network`), the loss curves of each learning
rate (`plot_loss_curves`, `plot_loss_small_multiples`, `loss_curve_png`), and the original
sheet's curve beside the correct one (`plot_sheet_error`).
"""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from s6lib.backprop.network import CLASS_VALUES, check_values, error_resolution, forward_pass
from s6lib.book import style

# The network drawn top to bottom, one layer a row (a phone's column is tall, not wide): the
# inputs, the hidden units, the output units, the errors. Coordinates in data units, aspect equal.
_COLUMN_X = (0.0, 4.2)
_LAYER_Y = {"input": 5.4, "hidden": 3.6, "output": 1.8, "error": 0.0}
_BOX = {"input": (2.1, 0.6), "hidden": (2.3, 0.95), "output": (2.3, 0.95), "error": (2.3, 0.95)}
_XLIM, _YLIM = (-1.6, 5.5), (-0.65, 5.85)
_UNITS = {  # name: (layer, column)
    "i1": ("input", 0), "i2": ("input", 1), "h1": ("hidden", 0), "h2": ("hidden", 1),
    "o1": ("output", 0), "o2": ("output", 1), "E1": ("error", 0), "E2": ("error", 1),
}
_EDGES = {  # weight: (from, to)
    "w1": ("i1", "h1"), "w2": ("i2", "h1"), "w3": ("i1", "h2"), "w4": ("i2", "h2"),
    "w5": ("h1", "o1"), "w6": ("h2", "o1"), "w7": ("h1", "o2"), "w8": ("h2", "o2"),
}
_FILL = {"input": "#fdf1d6", "hidden": "#e8eefc", "output": "#e8eefc", "error": "#f3f3f3"}
_WEIGHT_COLOUR, _BACKWARD_COLOUR = "#1f4ebf", "#b03a1a"
SHOWS = ("weights", "forward", "backward")
DIAGRAM_DIGITS = 4  # significant digits of the values in a diagram (the text gives 6)


def _short(value):
    return f"{value:.{DIAGRAM_DIGITS}g}"


def _labels(values, show):
    """The text inside each box for `show`: names only, the forward values, or the deltas."""
    v = check_values(values)
    text = {f"i{k}": f"$i_{k}$ = {v[f'i{k}']:g}" for k in (1, 2)}
    if show == "weights":
        return text | {"h1": "$h_1 \\to a_{h1}$", "h2": "$h_2 \\to a_{h2}$", "o1": "$o_1 \\to a_{o1}$",
                       "o2": "$o_2 \\to a_{o2}$", "E1": f"$E_1$\n$t_1$ = {v['t1']:g}",
                       "E2": f"$E_2$\n$t_2$ = {v['t2']:g}"}
    if show == "forward":
        row = forward_pass(v)
        for unit in ("h1", "h2", "o1", "o2"):
            text[unit] = f"${unit[0]}_{unit[1]}$ = {_short(row[unit])}\n$a_{{{unit}}}$ = {_short(row['a_' + unit])}"
        for k in (1, 2):
            text[f"E{k}"] = f"$E_{k}$ = {_short(row[f'E{k}'])}\n$t_{k}$ = {v[f't{k}']:g}"
        return text
    from s6lib.backprop.by_hand import backward_steps  # the deltas, as the chapter substitutes them

    steps, row = backward_steps(v), forward_pass(v)
    for unit in ("h1", "h2", "o1", "o2"):
        text[unit] = f"$\\delta_{{{unit}}}$ = {_short(steps['delta_' + unit].value)}"
    for k in (1, 2):
        text[f"E{k}"] = f"$a_{{o{k}}} - t_{k}$\n= {_short(row[f'a_o{k}'] - v[f't{k}'])}"
    return text


def _centre(unit):
    layer, column = _UNITS[unit]
    return _COLUMN_X[column], _LAYER_Y[layer]


def _edge_end(unit, towards):
    """Where an edge meets `unit`'s box: its top or bottom side, towards the other unit."""
    (x, y), (tx, ty) = _centre(unit), _centre(towards)
    half_w, half_h = (size / 2 for size in _BOX[_UNITS[unit][0]])
    inset = 0.0 if x == tx else (0.45 if tx > x else -0.45)  # a slanted edge leaves off-centre
    return x + inset * half_w, (y - half_h if ty < y else y + half_h)


def _arrow(ax, start, end, colour):
    ax.annotate("", end, start, arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.4, shrinkA=0, shrinkB=0))


@style.styled
def draw_network(values=CLASS_VALUES, ax=None, show="weights"):
    """The 2-2-2 network, top to bottom: each weight's value on its edge, each unit a box.

    `show`: "weights" names the units; "forward" writes each unit's sum and activation and each
    output's error; "backward" writes each unit's delta and each output's error a − t, with the
    arrows pointing back up, the way the deltas travel. The labels of crossing edges sit near
    the edges' start, where the two are still apart. Text is never smaller than the house
    style's smallest (`style.MIN_FONT_PT`).
    """
    if show not in SHOWS:
        raise ValueError(f"show must be one of {', '.join(SHOWS)}, not {show!r}")
    v = check_values(values)
    labels = _labels(v, show)
    small, large = style.MIN_FONT_PT, style.MIN_FONT_PT + 1
    if ax is None:  # the whole figure is the drawing: no axes margins
        span_x, span_y = _XLIM[1] - _XLIM[0], _YLIM[1] - _YLIM[0]
        fig, ax = plt.subplots(figsize=(style.WIDTH, style.WIDTH * span_y / span_x))
        fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    backward = show == "backward"
    colour = _BACKWARD_COLOUR if backward else "0.45"
    for weight, (start, end) in _EDGES.items():
        a, b = _edge_end(start, end), _edge_end(end, start)
        _arrow(ax, b if backward else a, a if backward else b, colour)
        at = 0.5 if a[0] == b[0] else 0.2
        ax.text(a[0] + at * (b[0] - a[0]), a[1] + at * (b[1] - a[1]), f"${weight[0]}_{weight[1]}$ = {v[weight]:g}",
                ha="center", va="center", fontsize=small, color=_WEIGHT_COLOUR,
                bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none"))
    for k in (1, 2):  # each output feeds its error
        a, b = _edge_end(f"o{k}", f"E{k}"), _edge_end(f"E{k}", f"o{k}")
        _arrow(ax, b if backward else a, a if backward else b, colour)
    for unit, (layer, _) in _UNITS.items():
        (x, y), (w, h) = _centre(unit), _BOX[layer]
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.15",
                                    fc=_FILL[layer], ec=_BACKWARD_COLOUR if backward and layer != "input" else "0.3",
                                    lw=1.1))
        ax.text(x, y, labels[unit], ha="center", va="center", fontsize=large, linespacing=1.45)
    middle = sum(_COLUMN_X) / 2
    ax.text(middle, _LAYER_Y["error"], "$E_{total}$\n$= E_1 + E_2$" if show != "forward"
            else f"$E_{{total}}$\n= {_short(forward_pass(v)['E_total'])}", ha="center", va="center",
            fontsize=large, linespacing=1.45)
    for bias, layer in (("b1", "hidden"), ("b2", "output")):
        if v[bias]:
            ax.text(middle, _LAYER_Y[layer], f"bias\n${bias[0]}_{bias[1]}$ = {v[bias]:g}", ha="center",
                    va="center", fontsize=small, linespacing=1.3)
    for layer, y in _LAYER_Y.items():
        ax.text(_XLIM[0] + 0.05, y, layer, ha="left", va="center", rotation=90, fontsize=small, color="0.35")
    ax.set_xlim(*_XLIM)
    ax.set_ylim(*_YLIM)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.grid(False)
    return ax


@style.styled
def plot_loss_curves(curves, ax=None, threshold=None, log=False, floor=None):
    """All loss curves in one axes; `curves` has one column of E_total per learning rate.
    On a log axis, values below `floor` (default: a hundredth of `threshold`, else `LOSS_FLOOR`)
    are not drawn. The legend sits under the axes, off the curves."""
    if ax is None:
        _, ax = plt.subplots()
    floor = floor if floor is not None else (threshold / 100 if threshold else LOSS_FLOOR)
    for learning_rate, curve in curves.items():
        shown = curve.where(curve >= floor) if log else curve
        ax.plot(shown.index, shown.values, label=f"η = {rate_label(learning_rate)}")
    if threshold is not None:
        ax.axhline(threshold, color="0.5", ls="--", lw=1, label=f"threshold {threshold:g}")
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor)
    ax.set_xlim(curves.index[0], curves.index[-1])
    ax.set_xlabel("step")
    ax.set_ylabel("$E_{total}$")
    ax.legend(ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.22), borderaxespad=0)
    return ax


def rate_label(learning_rate):
    """A learning rate as the figures and the chapter's text write it: 4 significant digits."""
    return f"{learning_rate:.4g}"


def error_label(value, resolution):
    """E_total as a figure writes it: 3 significant digits, or, below `resolution`
    (`backprop.error_resolution`), a word that it is round-off rather than a number."""
    return f"{value:.3g}" if value >= resolution else "below float64's resolution"


@style.styled
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


LOSS_FLOOR = 1e-12  # bottom of the log axes where no other is given: a trillionth, far below any threshold


@style.styled
def plot_loss_curve(curve, learning_rate, ax=None, ylim=None, log=False, resolution=None):
    """One loss curve, titled with its learning rate and its last value (the sliders' picture), over
    all its steps. On a log axis, values below the axis' bottom are not drawn; a last value below
    `resolution` (default: `backprop.error_resolution()`) is titled as round-off, not as a number."""
    if ax is None:
        _, ax = plt.subplots()
    resolution = error_resolution() if resolution is None else resolution
    bottom = (ylim[0] if ylim else LOSS_FLOOR) if log else None
    shown = curve.where(curve >= bottom) if log else curve
    ax.plot(shown.index, shown.values, color="C0")
    ax.set_title(f"η = {learning_rate:g}: $E_{{total}}$ at step {curve.index[-1]}\n"
                 f"{error_label(curve.iloc[-1], resolution)}")
    ax.set_xlim(curve.index[0], curve.index[-1])
    ax.set_xlabel("step")
    ax.set_ylabel("$E_{total}$")
    if log:
        ax.set_yscale("log")
    ax.set_ylim(ylim)
    return ax


@style.styled
def loss_curve_png(curve, learning_rate, ylim=None, log=False, resolution=None):
    """`plot_loss_curve` as PNG bytes (for an ipywidgets Image, which also shows on a static page)."""
    fig, ax = plt.subplots()
    plot_loss_curve(curve, learning_rate, ax=ax, ylim=ylim, log=log, resolution=resolution)
    data = style.png(fig)
    plt.close(fig)
    return data


@style.styled
def plot_sheet_error(correct, faulty, learning_rate):
    """The original sheet's loss curve on top of the correct one (above) and their difference
    (below): `correct` and `faulty` are E_total by step, over the same updates."""
    fig, (both, gap) = plt.subplots(2, 1, figsize=(style.WIDTH, 1.1 * style.WIDTH), sharex=True)
    both.plot(correct.index, correct.values, color="C0", lw=4, alpha=0.4, label="correct sheet")
    both.plot(faulty.index, faulty.values, color="C3", lw=1.4, ls="--", label="original sheet")
    both.set_title(f"$E_{{total}}$ by step, η = {learning_rate:g}")
    both.legend()
    gap.plot(correct.index, (faulty - correct).values, color="C3")
    gap.axhline(0, color="0.5", lw=0.8)
    gap.set_title("original sheet − correct sheet")
    gap.set_xlabel("step")
    gap.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    fig.tight_layout()
    return fig


# The computational graph of E_total along the paths from w1 and w5 (`backprop.graph_values`), top to
# bottom in the order of the forward pass: each node a box, each edge an arrow.
_GRAPH_ROW = 1.75  # between the centres of two rows: room for an edge and its label
_GRAPH_AT = {name: (x, row * _GRAPH_ROW) for name, (x, row) in {
    "w1": (2.0, 6), "h1": (2.0, 5), "a_h1": (2.0, 4), "w5": (-0.6, 4),
    "o1": (0.3, 3), "o2": (3.7, 3), "a_o1": (0.3, 2), "a_o2": (3.7, 2),
    "E1": (0.3, 1), "E2": (3.7, 1), "E_total": (2.0, 0),
}.items()}
_GRAPH_NAMES = {"w1": "$w_1$", "h1": "$h_1$", "a_h1": "$a_{h1}$", "w5": "$w_5$", "o1": "$o_1$", "o2": "$o_2$",
                "a_o1": "$a_{o1}$", "a_o2": "$a_{o2}$", "E1": "$E_1$", "E2": "$E_2$", "E_total": "$E_{total}$"}
_GRAPH_BOX = (2.3, 0.9)
_GRADIENT_COLOUR = _BACKWARD_COLOUR


@style.styled
def draw_graph(values=CLASS_VALUES):
    """The computational graph: each node with its value (black) and its gradient ∂E_total/∂node
    (red, "grad"); each edge with its local derivative ∂(lower)/∂(upper) (blue). A node's gradient is
    the sum over its edges of local derivative × the gradient below, so the two paths from a_h1 add."""
    from s6lib.backprop.network import graph_values

    nodes, edges = graph_values(values)
    small, large = style.MIN_FONT_PT, style.MIN_FONT_PT + 1
    xlim, ylim = (-1.9, 5.0), (-0.6, 6 * _GRAPH_ROW + 0.6)
    fig, ax = plt.subplots(figsize=(style.WIDTH, style.WIDTH * (ylim[1] - ylim[0]) / (xlim[1] - xlim[0])))
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1)
    half_w, half_h = (size / 2 for size in _GRAPH_BOX)
    for (start, end), local in edges.items():
        (x0, y0), (x1, y1) = _GRAPH_AT[start], _GRAPH_AT[end]
        a, b = (x0, y0 - half_h), (x1, y1 + half_h)
        _arrow(ax, a, b, "0.45")
        ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, f"×{_short(local)}", ha="center", va="center",
                fontsize=small, color=_WEIGHT_COLOUR, bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none"))
    for name, (value, gradient) in nodes.items():
        x, y = _GRAPH_AT[name]
        parameter = name in ("w1", "w5")
        ax.add_patch(FancyBboxPatch((x - half_w, y - half_h), *_GRAPH_BOX, boxstyle="round,pad=0.02,rounding_size=0.15",
                                    fc=_FILL["input"] if parameter else _FILL["hidden"], ec="0.3", lw=1.1))
        ax.text(x, y + 0.18, f"{_GRAPH_NAMES[name]} = {_short(value)}", ha="center", va="center", fontsize=large)
        ax.text(x, y - 0.22, f"grad {_short(gradient)}", ha="center", va="center", fontsize=large,
                color=_GRADIENT_COLOUR)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.grid(False)
    return ax
