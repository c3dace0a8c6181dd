"""The house style: number formats by kind, tables without noise, figures that carry their text size."""

import io
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402

from s6lib.book import style  # noqa: E402


def test_numbers_by_kind():
    assert style.acc(99.4499) == "99.45" and style.acc(None) == "–" and style.acc(float("nan")) == "–"
    assert style.loss(0.0214512) == "0.02145" and style.loss(3.984e-05) == "3.984e-05"
    assert style.count(17022) == "17,022" and style.count(pd.NA) == "–"
    assert style.number(-1.73472347598e-18) == "0" and style.number(0.123456) == "0.123"


def test_a_table_has_no_index_no_none_and_formats_each_column():
    frame = pd.DataFrame({"model": ["net6", None], "parameters": [17022, 9174], "final test acc": [99.4567, math.nan],
                          "test loss": [0.0214512, 0.03]}, index=pd.Index([3, 4], name="seed"))
    html = style.table(frame)
    assert "17,022" in html and "99.46" in html and "0.02145" in html and "–" in html
    for noise in ("None", "NaN", "nan", "&lt;NA&gt;", ">seed</th>", ">3<"):
        assert noise not in html, noise
    assert '<th>model</th>' in html and '<th class="s6-num">parameters</th>' in html  # words left, numbers right
    with_index = style.table(frame, index=True, scroll=True)
    assert '<th class="s6-num">seed</th>' in with_index and 's6-table-box s6-scroll' in with_index
    plain = pd.DataFrame({"a": [99.4567], "n": [9174]})
    assert ">99.46<" in style.table(plain, default="acc") and ">9,174<" in style.table(plain, default="acc")
    assert with_index._repr_html_() == str(with_index)
    # a column's own formatter never sees a missing value (a version 2 benchmark record has no GFLOP/s)
    gflops = style.table(pd.DataFrame({"GFLOP/s": [12.34, None]}), {"GFLOP/s": lambda v: f"{v:,.1f}"})
    assert ">12.3<" in gflops and ">–<" in gflops


def test_a_figures_png_says_its_smallest_text_and_dpi():
    with style.figures():
        fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [99.0, 99.3, 99.5])
    ax.set_xlabel("epoch")
    ax.annotate("tiny", (2, 99.3), fontsize=7)
    style.integer_epochs(ax)
    image = Image.open(io.BytesIO(style.png(fig)))
    assert image.info["s6:min-font-pt"] == "7" and image.info["s6:dpi"] == "100"
    assert style.smallest_font(fig) == 7
    plt.close(fig)
    assert list(fig.get_size_inches()) == [style.WIDTH, 3.2]


def test_the_house_style_holds_inside_a_figure_function_and_leaves_matplotlib_as_it_was():
    before = dict(plt.rcParams)

    @style.styled
    def draw():
        fig, ax = plt.subplots()
        ax.plot([1, 2], [1, 2])
        return fig, ax

    fig, ax = draw()
    assert dict(plt.rcParams) == before
    assert fig.get_size_inches()[0] == style.WIDTH and not ax.spines["top"].get_visible()
    # grid lines made as the PNG is drawn are the style's faint ones, not matplotlib's default
    style.png(fig)
    assert {line.get_alpha() for line in ax.get_xgridlines()} == {0.3}
    plt.close(fig)


def test_a_notebook_figure_is_a_2x_png_shown_at_half_its_pixels_with_text_readable_on_a_phone():
    with style.figures():
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [0.3, 0.2, 0.1], label="loss")
        ax.set(xlabel="epoch", ylabel="loss", title="a title")
        ax.legend()
    data, metadata = style.figure_output(fig)
    image = Image.open(io.BytesIO(data))
    assert image.info["s6:dpi"] == str(style.DPI * style.SCALE) and style.SCALE >= 2
    assert metadata["width"] == round(image.size[0] / style.SCALE)
    # shrunk to a phone's 358 px column, the smallest text is still 10 CSS px high
    points = float(image.info["s6:min-font-pt"])
    assert points >= style.MIN_FONT_PT
    assert points / 72 * style.DPI * min(1, 358 / metadata["width"]) >= 10
    plt.close(fig)


def test_a_tables_long_words_may_break_where_a_reader_would_not_mind():
    """On a phone a column of long words narrows at "(", "/" and "." + letter; what a reader reads is the same."""
    frame = pd.DataFrame({"experiment": ["no-rotation: no RandomRotation(±20°)"], "loss.backward()": [0.000316993],
                          "files": ["book/runs"]})
    html = style.table(frame)
    assert "RandomRotation<wbr>(±20°)" in html and "loss.<wbr>backward<wbr>()" in html and "book/<wbr>runs" in html
    assert ">0.000317<" in html  # numbers keep every character together
    assert "no-rotation: no RandomRotation(±20°)" in html.replace("<wbr>", "")


def test_a_signed_difference_has_a_true_minus_and_no_signed_zero():
    assert [style.points(v) for v in (-0.456, 0.03, -0.001, 0.0)] == ["−0.46", "+0.03", "0.00", "0.00"]
    assert [style.points(v, 1) for v in (-0.04, 1.26)] == ["0.0", "+1.3"]
