"""The two learning-rate sliders of the learning-rates chapter.

`live_learning_rate_slider` needs a running kernel (Jupyter, Colab, Binder):
every move recomputes the loss curve. `static_learning_rate_slider` also works
on the published page with no kernel: its pictures are computed in advance and
the slider is linked to them in the browser (`jslink`).

Both work with ipywidgets 7.7 (what Colab ships) and 8. The browser-only switch
needs ipywidgets 8's `Stack`; under 7.x the static slider has the kernel swap
its pictures instead, and says so.
"""

import ipywidgets as widgets

from s6lib.backprop import CLASS_VALUES, SHEET_STEPS, iterate, loss_curves
from s6lib.backprop_plots import LOSS_FLOOR, loss_curve_png

# The class rates and a spread around them, up to rates far too large for a
# sheet (the stable sigmoid keeps those finite).
STATIC_LEARNING_RATES = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 10.0, 20.0, 50.0, 100.0)


def live_learning_rate_slider(values=CLASS_VALUES, learning_rate=0.5, steps=SHEET_STEPS):
    """η on a log scale (0.01 … 100) and the number of steps; each change reruns `iterate`."""
    rate = widgets.FloatLogSlider(value=learning_rate, base=10, min=-2, max=2, step=0.01,
                                  description="η", continuous_update=False)
    step_count = widgets.IntSlider(value=steps, min=1, max=1000, description="steps", continuous_update=False)
    picture = widgets.Image(format="png")

    def redraw(_change=None):
        curve = iterate(values, rate.value, step_count.value)["E_total"]
        picture.value = loss_curve_png(curve, rate.value, ylim=(0, 1.05 * curve.max()))

    rate.observe(redraw, "value")
    step_count.observe(redraw, "value")
    redraw()
    box = widgets.VBox([widgets.HBox([rate, step_count]), picture])
    box.add_class("s6-live-lr-slider")
    return box


def static_learning_rate_slider(learning_rates=STATIC_LEARNING_RATES, values=CLASS_VALUES, steps=SHEET_STEPS,
                                start=0.5):
    """A slider over precomputed loss curves, switched in the browser with no kernel.

    A `SelectionSlider` is jslink'ed to a `Stack` of PNG images, one per rate,
    all on the same log-scale axes so that moving the slider compares like
    with like across many orders of magnitude of E_total.
    """
    curves = loss_curves(learning_rates, values, steps)
    ylim = (LOSS_FLOOR, 2 * curves.max().max())
    pictures = [loss_curve_png(curves[lr], lr, ylim, log=True) for lr in learning_rates]
    slider = widgets.SelectionSlider(options=[f"{lr:g}" for lr in learning_rates], value=f"{start:g}",
                                     description="η", continuous_update=True)
    slider.add_class("s6-static-lr-slider")
    if not hasattr(widgets, "Stack"):  # ipywidgets 7 (Colab): the kernel swaps the picture
        picture = widgets.Image(value=pictures[slider.index], format="png")
        slider.observe(lambda change: setattr(picture, "value", pictures[change["new"]]), "index")
        note = widgets.HTML(f"<small>ipywidgets {widgets.__version__} here: this slider needs the running "
                            "kernel (with ipywidgets 8, as on the website, it works without one).</small>")
        return widgets.VBox([slider, picture, note])
    stack = widgets.Stack([widgets.Image(value=png, format="png") for png in pictures])
    stack.selected_index = slider.index
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    stack.add_class("s6-static-lr-stack")
    return widgets.VBox([slider, stack])
