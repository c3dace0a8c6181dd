"""The book's house style for tables and figures, in one place.

Tables: numbers formatted by kind (accuracies with 2 decimals, losses with 4
significant digits, counts with thousands separators), missing values as "–",
no index or header noise, and wide tables in a box that scrolls on purpose.

Figures: one Matplotlib style (s6.mplstyle, applied in a context) sized so that
a figure's smallest text stays at least 10 CSS pixels high on a phone (390 px wide, where a figure is shrunk to
the 358 px column) and sharp on high-density screens: 5 inches wide, text of 11
points and more, shown at 100 CSS pixels per inch (500 px on a desktop) from a
PNG drawn at twice that. Integer epoch ticks.
In a Jupyter kernel, `show_figures()` shows every figure through `figure_output`: the 2×
PNG with its display width, carrying the size of its smallest text
(`s6:min-font-pt`) and its dpi, so the browser test can check what a reader sees.
"""

from __future__ import annotations

import functools
import io
import math
import numbers
import re
from html import escape
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from PIL import Image

DASH = "–"  # a missing value
STYLE_FILE = Path(__file__).with_name("s6.mplstyle")  # the figure style, one place for its numbers
_RC = matplotlib.rc_params_from_file(STYLE_FILE, use_default_template=False)
WIDTH = _RC["figure.figsize"][0]  # inches: the column's width
DPI = round(_RC["figure.dpi"])  # CSS pixels per inch as shown
SCALE = round(_RC["savefig.dpi"] / DPI)  # the PNG holds SCALE times as many: sharp on a 2× (retina) screen
MIN_FONT_PT = _RC["xtick.labelsize"]  # no text in a figure is smaller than this


# --- numbers ---------------------------------------------------------------------------------


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def acc(value) -> str:
    """An accuracy in percent: 2 decimals ("99.45")."""
    return DASH if _missing(value) else f"{value:.2f}"


def loss(value) -> str:
    """A loss: 4 significant digits ("0.02145")."""
    return DASH if _missing(value) else f"{value:.4g}"


def count(value) -> str:
    """A count with thousands separators ("17,022")."""
    return DASH if _missing(value) else f"{int(value):,}"


def points(value: float, digits: int = 2) -> str:
    """A difference in percentage points with its sign and a true minus: "−0.46", "+0.03", "0.00"
    (`digits` after the point)."""
    text = f"{value:+.{digits}f}".replace("-", "−")
    return text[1:] if float(text[1:]) == 0 else text


def number(value, digits: int = 3) -> str:
    """Any other number: `digits` significant digits, tiny values (|x| < 1e-12) as 0."""
    if _missing(value):
        return DASH
    return "0" if abs(value) < 1e-12 else f"{value:.{digits}g}"


def text(value) -> str:
    return DASH if _missing(value) else str(value)


KINDS = {"acc": acc, "loss": loss, "count": count, "number": number, "text": text}


def kind_of(column: str, series: pd.Series) -> str:
    """The format a column gets when none is named: by its name, else by its values."""
    name = str(column).lower()
    if "acc" in name or "(%)" in name or name.endswith("%"):
        return "acc"
    if "loss" in name:
        return "loss"
    values = series.dropna()
    if len(values) and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        return "count"
    if len(values) and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        return "number"
    return "text"


def formatted(frame: pd.DataFrame, kinds: dict | None = None, default: str | None = None) -> pd.DataFrame:
    """A copy of `frame` with every cell a string in the house format (`kinds`: column -> a KINDS key
    or a function of one value; columns of other non-integer numbers get `default`, else a kind by name
    and values)."""
    kinds = kinds or {}
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        guess = kind_of(column, frame[column])
        kind = kinds.get(column) or (default if default and guess == "number" else guess)
        fmt = kind if callable(kind) else KINDS[kind]
        out[column] = [v if isinstance(v, str) else DASH if _missing(v) else fmt(v)  # text stays; missing: "–"
                       for v in frame[column].astype(object)]
    return out


def table(frame: pd.DataFrame, kinds: dict | None = None, *, default: str | None = None, index: bool = False,
          scroll: bool = False) -> "HTMLTable":
    """`frame` as the book shows a table: house formats, no index unless asked (then its name heads it),
    no stray header rows; `scroll` puts a wide table in a box that scrolls sideways on purpose."""
    if index:
        frame = frame.reset_index()
    shown = formatted(frame, kinds, default)
    numeric = [kind_of(c, frame[c]) != "text" or (kinds or {}).get(c) not in (None, "text") for c in frame.columns]
    align = lambda right: ' class="s6-num"' if right else ""  # noqa: E731  numbers right, words left
    head = "".join(f"<th{align(r)}>{_breakable(escape(str(c)))}</th>" for c, r in zip(frame.columns, numeric))
    body = "".join("<tr>" + "".join(f"<td{align(r)}>{escape(v) if r else _breakable(escape(v))}</td>"
                                    for v, r in zip(row, numeric)) + "</tr>"
                   for row in shown.itertuples(index=False))
    html = f'<table class="s6-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return HTMLTable(f'<div class="s6-table-box{" s6-scroll" if scroll else ""}">{html}</div>')


def _breakable(html: str) -> str:
    """Text with line-break opportunities (<wbr>) before "(", after "/" and after a "." that a letter
    follows: on a phone a column headed or filled with words like "RandomRotation(±20°)" or
    "loss.backward()" can then narrow, so that a table's last column stays in view."""
    return re.sub(r"\.(?=[A-Za-z])", ".<wbr>", html.replace("(", "<wbr>(").replace("/", "/<wbr>"))


class HTMLTable(str):
    """An HTML table that Jupyter and the book render as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


# --- figures ---------------------------------------------------------------------------------


def integer_epochs(ax) -> None:
    """Epoch ticks at whole epochs only."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def smallest_font(fig: Figure) -> float | None:
    """The size in points of the smallest visible text in `fig` (None when it has none)."""
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) if sizes else None


def png(fig: Figure, scale: float = 1) -> bytes:
    """`fig` as PNG bytes at `scale` times its dpi, trimmed to its content, carrying its smallest
    text size and the dpi it was drawn at."""
    buffer = io.BytesIO()
    smallest, dpi = smallest_font(fig), fig.dpi * scale
    metadata = {"s6:dpi": f"{dpi:g}"} | ({"s6:min-font-pt": f"{smallest:g}"} if smallest else {})
    with plt.style.context(STYLE_FILE):  # ticks and grid lines made as it is drawn take the house style too
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata=metadata)
    return buffer.getvalue()


def figure_output(fig: Figure) -> tuple[bytes, dict]:
    """How a notebook shows `fig`: a PNG at SCALE× with the width to show it at (its size at the
    figure's own dpi), which Jupyter, Colab and the book's pages honour."""
    data = png(fig, SCALE)
    width, _ = Image.open(io.BytesIO(data)).size
    return data, {"width": round(width / SCALE)}


def figures():
    """The house style for the figures drawn in a `with` block; matplotlib's settings outside it are
    left as they were. In a Jupyter kernel, figures are then shown through `figure_output`."""
    show_figures()
    return plt.style.context(STYLE_FILE)


def styled(plot):
    """`plot` (a function that draws a figure), drawing in the house style."""

    @functools.wraps(plot)
    def drawn(*args, **kwargs):
        with figures():
            return plot(*args, **kwargs)

    return drawn


def show_figures() -> None:
    """In a Jupyter kernel, show figures through `figure_output` (a display hook; matplotlib's own
    settings are not touched)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and "image/png" in shell.display_formatter.formatters:
        if matplotlib.get_backend().lower().endswith("inline"):
            import matplotlib_inline.backend_inline  # noqa: F401  (its formatter registers first; ours replaces it)
        shell.display_formatter.formatters["image/png"].for_type(Figure, figure_output)
