"""The two learning-rate sliders of the learning-rates chapter.

`live_learning_rate_slider` needs a running kernel (Jupyter, Colab, Binder):
every move recomputes the loss curve. On a page with no kernel behind it (the
website, where the widgets are drawn from the state saved at build time), the
`no_kernel_note` displayed beside it disables it visibly and says how to run it.
`static_learning_rate_slider` also works on the published page with no kernel:
its pictures are computed in advance and the slider is linked to them in the
browser (`jslink`); it spans the column, for a long track that is easy to touch.

Both work with ipywidgets 7.7 (what Colab ships) and 8. The browser-only switch
needs ipywidgets 8's `Stack`; under 7.x the static slider has the kernel swap
its pictures instead, and says so.
"""

import html

import ipywidgets as widgets

from s6lib.backprop.network import CLASS_VALUES, SHEET_STEPS, error_resolution, iterate, loss_curves
from s6lib.backprop.plots import error_label, loss_curve_png

# The class rates and a spread around them, up to rates past the one where this network stalls
# (the stable sigmoid keeps those finite).
# Few enough stops that each is a finger's width apart on a phone's track.
STATIC_LEARNING_RATES = (0.05, 0.1, 0.2, 0.5, 0.8, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
LIVE_CLASS = "s6-live-lr-slider"
NO_KERNEL_NOTE = ("The live slider below needs a running Python kernel, and this page has none: open the "
                  "chapter in Colab or Binder (the rocket icon at the top) and run it, or use the static "
                  "slider (b) further down, which works here.")

# Runs where the note is shown. A page whose widgets come from a saved widget state (the website,
# nbviewer) has no kernel: the note appears and the live slider is made inert (no pointer, no
# keyboard), dimmed, as it renders. In Jupyter, Colab or Binder there is no saved state in the
# page: the note stays hidden and the slider live.
_NO_KERNEL_SCRIPT = """
(function () {
  var note = document.getElementById("%(id)s");
  function saved() {
    return document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]') !== null;
  }
  function disable() {
    document.querySelectorAll(".%(cls)s:not([data-s6-no-kernel])").forEach(function (box) {
      box.setAttribute("data-s6-no-kernel", "");
      box.inert = true;
      box.setAttribute("aria-disabled", "true");
      box.classList.add("s6-no-kernel");
      box.style.opacity = "0.45";
      box.style.filter = "grayscale(1)";
      box.style.pointerEvents = "none";
    });
  }
  function start() {
    if (!note || !saved()) return;
    note.hidden = false;
    disable();
    new MutationObserver(disable).observe(document.body, {childList: true, subtree: true});
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
"""


def _described(curve, learning_rate, resolution):
    """What a loss-curve picture shows, in words: its caption, shown under it. Values below
    `resolution` (`backprop.error_resolution`) are named as round-off, not given as numbers."""
    text = (f"Loss curve at η = {learning_rate:g}: E_total from {error_label(curve.iloc[0], resolution)} at step "
            f"{curve.index[0]} to {error_label(curve.iloc[-1], resolution)} at step {curve.index[-1]}.")
    lost = curve.index[curve < resolution]
    if len(lost):
        text += (f" From step {lost[0]} on it is below {resolution:.2g}, float64's resolution here: "
                 "round-off, not a value, and not drawn on a logarithmic axis.")
    return text


def _caption(text):
    """The words under a picture. Not the Image's tooltip: the website's widget manager cannot draw
    an Image that has one (ipywidgets 8 reads the description that Image lacks)."""
    return widgets.HTML(f'<p class="s6-curve-caption">{html.escape(text)}</p>')


def _picture(png, text):
    """A loss-curve picture with its caption, as one box (what the static slider switches between)."""
    return widgets.VBox([widgets.Image(value=png, format="png"), _caption(text)])


def live_learning_rate_slider(values=CLASS_VALUES, learning_rate=0.5, steps=SHEET_STEPS):
    """η on a log scale (0.01 … 100) and the number of steps; each change reruns `iterate`."""
    rate = widgets.FloatLogSlider(value=learning_rate, base=10, min=-2, max=2, step=0.01,
                                  description="η", continuous_update=False)
    step_count = widgets.IntSlider(value=steps, min=1, max=1000, description="steps", continuous_update=False)
    picture, caption = widgets.Image(value=b"", format="png"), _caption("")
    resolution = error_resolution(values)

    def redraw(_change=None):
        curve = iterate(values, rate.value, step_count.value)["E_total"]
        picture.value = loss_curve_png(curve, rate.value, ylim=(0, 1.05 * curve.max()), resolution=resolution)
        caption.value = _caption(_described(curve, rate.value, resolution)).value

    rate.observe(redraw, "value")
    step_count.observe(redraw, "value")
    redraw()
    controls = widgets.HBox([rate, step_count], layout=widgets.Layout(flex_flow="row wrap"))  # a phone: two rows
    box = widgets.VBox([controls, picture, caption])
    box.add_class(LIVE_CLASS)
    return box


class NoKernelNote:
    """One line, shown only on a page with no kernel, saying how to run the live slider; it also
    disables the slider there (see `_NO_KERNEL_SCRIPT`)."""

    _count = 0

    def __init__(self, text=NO_KERNEL_NOTE):
        NoKernelNote._count += 1
        self.text, self.id = text, f"s6-no-kernel-{NoKernelNote._count}"

    def _repr_html_(self):
        script = _NO_KERNEL_SCRIPT % {"id": self.id, "cls": LIVE_CLASS}
        return (f'<p class="s6-kernel-note" id="{self.id}" role="note" hidden>{html.escape(self.text)}</p>'
                f"<script>{script}</script>")


def no_kernel_note(text=NO_KERNEL_NOTE):
    """The note to display beside `live_learning_rate_slider` (hidden wherever a kernel runs)."""
    return NoKernelNote(text)


def static_learning_rate_slider(learning_rates=STATIC_LEARNING_RATES, values=CLASS_VALUES, steps=SHEET_STEPS,
                                start=0.5):
    """A slider over precomputed loss curves, switched in the browser with no kernel.

    A `SelectionSlider` is jslink'ed to a `Stack` of PNG images, one per rate,
    all on the same log-scale axes so that moving the slider compares like
    with like across many orders of magnitude of E_total. The axes reach down
    to float64's resolution (`backprop.error_resolution`): lower values are
    round-off, left out of the picture and named as such in its words.
    """
    curves = loss_curves(learning_rates, values, steps)
    resolution = error_resolution(values)
    ylim = (resolution, 2 * curves.max().max())
    pictures = [loss_curve_png(curves[lr], lr, ylim, log=True, resolution=resolution) for lr in learning_rates]
    words = [_described(curves[lr], lr, resolution) for lr in learning_rates]
    slider = widgets.SelectionSlider(options=[f"{lr:g}" for lr in learning_rates], value=f"{start:g}",
                                     description="η", continuous_update=True, style={"description_width": "initial"},
                                     layout=widgets.Layout(width="100%", max_width="44em"))
    slider.add_class("s6-static-lr-slider")
    if not hasattr(widgets, "Stack"):  # ipywidgets 7 (Colab): the kernel swaps the picture
        picture = widgets.Image(value=pictures[slider.index], format="png")
        caption = _caption(words[slider.index])

        def swap(change):
            picture.value, caption.value = pictures[change["new"]], _caption(words[change["new"]]).value

        slider.observe(swap, "index")
        note = widgets.HTML(f"<small>ipywidgets {widgets.__version__} here: this slider needs the running "
                            "kernel (with ipywidgets 8, as on the website, it works without one).</small>")
        return widgets.VBox([slider, picture, caption, note])
    stack = widgets.Stack([_picture(png, text) for png, text in zip(pictures, words)])
    stack.selected_index = slider.index
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    stack.add_class("s6-static-lr-stack")
    return widgets.VBox([slider, stack])
