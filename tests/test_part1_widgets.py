"""The learning-rate sliders: the static one is wired in the browser, the live one recomputes."""

import re

import ipywidgets as widgets
import matplotlib
from ipywidgets.widgets.widget import _instances as widget_registry
from ipywidgets.widgets.widget_link import Link

matplotlib.use("Agg")

from s6lib.backprop.widgets import live_learning_rate_slider, static_learning_rate_slider  # noqa: E402


def test_static_slider_is_jslinked_to_one_picture_per_rate():
    rates = (0.1, 0.5, 2.0)
    box = static_learning_rate_slider(rates, steps=5, start=2.0)
    slider, stack = box.children
    assert "s6-static-lr-slider" in slider._dom_classes and "s6-static-lr-stack" in stack._dom_classes
    assert slider.options == ("0.1", "0.5", "2") and stack.selected_index == slider.index == 2
    pictures = [box.children[0] for box in stack.children]  # each picture over its caption
    assert all(isinstance(p, widgets.Image) and bytes(p.value).startswith(b"\x89PNG") for p in pictures)
    assert len({bytes(p.value) for p in pictures}) == len(rates)  # a different curve per rate
    links = [w for w in widget_registry.values() if isinstance(w, Link)]
    assert any(link.source == (slider, "index") and link.target == (stack, "selected_index") for link in links)


def test_live_slider_redraws_when_the_rate_changes():
    box = live_learning_rate_slider(steps=5)
    (rate, steps), picture = box.children[0].children, box.children[1]
    shown = [bytes(picture.value)]
    rate.value = 2.0
    steps.value = 7
    shown += [bytes(picture.value)]
    assert all(png.startswith(b"\x89PNG") for png in shown) and shown[0] != shown[1]


def test_without_stack_the_static_slider_has_the_kernel_swap_pictures(monkeypatch):
    """ipywidgets 7.7 (Colab's) has no Stack: the slider still works, through the kernel, and says so."""
    monkeypatch.delattr(widgets, "Stack")
    box = static_learning_rate_slider((0.1, 0.5, 2.0), steps=5, start=0.5)
    slider, picture, caption, note = box.children
    first = bytes(picture.value)
    slider.value = "2"
    assert bytes(picture.value) != first and bytes(picture.value).startswith(b"\x89PNG")
    assert "Loss curve at η = 2:" in caption.value
    assert "needs the running kernel" in note.value


def test_the_no_kernel_note_is_hidden_until_the_page_has_no_kernel():
    """The note starts hidden (a kernel may be running); its script shows it, and makes the live
    slider inert, only where the page carries a saved widget state (the website)."""
    from s6lib.backprop.widgets import LIVE_CLASS, NO_KERNEL_NOTE, no_kernel_note

    html = no_kernel_note()._repr_html_()
    assert html.startswith('<p class="s6-kernel-note"') and " hidden>" in html and "Colab or Binder" in html
    assert 'application/vnd.jupyter.widget-state+json' in html and f'".{LIVE_CLASS}' in html
    assert "inert = true" in html and NO_KERNEL_NOTE.split(":")[0] in html
    assert no_kernel_note()._repr_html_() != html  # each note its own id
    assert LIVE_CLASS in live_learning_rate_slider(steps=3)._dom_classes


def test_the_static_slider_spans_the_column_for_touch():
    slider = static_learning_rate_slider((0.5, 2.0), steps=3).children[0]
    assert slider.layout.width == "100%"


def test_every_picture_says_in_words_what_it_shows():
    def words(caption):
        return re.sub(r"<[^>]+>", "", caption.value)

    stack = static_learning_rate_slider((0.5, 2.0), steps=4).children[1]
    captions = [words(box.children[1]) for box in stack.children]  # each picture with its own caption
    assert [c.split(":")[0] for c in captions] == ["Loss curve at η = 0.5", "Loss curve at η = 2"]
    assert "at step 4" in captions[0]
    live = live_learning_rate_slider(steps=3)
    assert words(live.children[2]).startswith("Loss curve at η = 0.5") and "at step 3" in words(live.children[2])
    live.children[0].children[0].value = 2.0  # the caption follows the slider
    assert words(live.children[2]).startswith("Loss curve at η = 2:")
    for widget in (*stack.children, live):  # what the website's widget manager cannot draw
        assert not any(getattr(w, "tooltip", None) for w in widget.children if isinstance(w, widgets.Image))


def _numbers(text):
    return [float(n) for n in re.findall(r"\d+(?:\.\d+)?(?:e[-+]\d+)", text)]


def test_a_curve_picture_spans_its_steps_and_gives_no_round_off_as_a_value():
    """η = 20 falls below float64's resolution long before the last step: the picture still spans
    every step, and neither its title nor its caption gives a value below the resolution."""
    import matplotlib.pyplot as plt

    from s6lib.backprop.network import error_resolution, loss_curves
    from s6lib.backprop.plots import plot_loss_curve

    resolution = error_resolution()
    curve = loss_curves((20.0,))[20.0]
    assert curve.iloc[-1] < resolution  # the case this test is about
    ax = plot_loss_curve(curve, 20.0, ylim=(resolution, 1.0), log=True)
    assert ax.get_xlim() == (curve.index[0], curve.index[-1])
    assert all(n >= resolution for n in _numbers(ax.get_title()))
    plt.close("all")
    stack = static_learning_rate_slider((0.5, 20.0)).children[1]
    caption = re.sub(r"<[^>]+>", "", stack.children[1].children[1].value)
    assert all(n >= resolution / 10 for n in _numbers(caption)), caption  # the resolution itself, rounded


def test_the_loss_curves_legend_sits_off_the_curves():
    import matplotlib.pyplot as plt

    from s6lib.backprop.network import CLASS_VALUES, loss_curves
    from s6lib.backprop.plots import plot_loss_curves

    ax = plot_loss_curves(loss_curves((10.0, 500.0), CLASS_VALUES), threshold=1e-4, log=True)
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    legend, axes = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
    assert legend.y1 < axes.y0  # wholly below the plotting area, where no curve is drawn
    plt.close("all")
