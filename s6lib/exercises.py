"""Numeric exercises that check a reader's answer in the page itself: no kernel, no server.

`answer_box(answer, ...)` displays a small form: the reader types a number, presses Check (or
Enter), and the page says whether it is within the stated tolerance of `answer`, which the
chapter computes with the library (never a typed number). The check is a few lines of plain
JavaScript inside the cell's own HTML output, so it runs wherever the output is shown: the
built website, Jupyter, Colab. The answer sits in the page's HTML, as a solution drop-down's
does; the box is for checking one's own work, not for grading.

`Answer` holds what the box checks, so a test can compare every exercise's answer with an
independent computation.
"""

from __future__ import annotations

import html
import itertools
import math
from dataclasses import dataclass

_ids = itertools.count(1)

# Binds every unbound .s6-answer form on the page (run once per box; a bound form is skipped).
_SCRIPT = """
(function () {
  document.querySelectorAll("form.s6-answer:not([data-bound])").forEach(function (form) {
    form.setAttribute("data-bound", "");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = form.querySelector("input"), out = form.querySelector("output");
      var text = input.value.trim().replace(/\\s/g, "").replace(/[\\u2212\\u2013]/g, "-").replace(",", ".");
      var value = Number(text), answer = Number(form.dataset.answer), tol = Number(form.dataset.tol);
      form.classList.remove("s6-right", "s6-wrong");
      if (text === "" || !isFinite(value)) {
        out.textContent = "Type a number, such as 0.0129 or 1.29e-2.";
        return;
      }
      var right = Math.abs(value - answer) <= tol;
      form.classList.add(right ? "s6-right" : "s6-wrong");
      out.textContent = (right ? "Right: " : "Not yet: ") + text + (right ? " is" : " is not") +
        " within \\u00b1" + form.dataset.tolText + " of the answer." +
        (right ? "" : " Check each factor, then try again.");
    });
  });
})();
"""


@dataclass(frozen=True)
class Answer:
    """What one answer box accepts: `value` ± `tolerance`."""

    label: str
    value: float
    tolerance: float

    def accepts(self, number: float) -> bool:
        return abs(number - self.value) <= self.tolerance

    def _repr_html_(self) -> str:
        return _form(self)


def tolerance_for(value: float, digits: int = 3) -> float:
    """Half a unit in the `digits`-th significant digit of `value`: an answer rounded to `digits`
    significant digits (or given more precisely) is accepted."""
    if value == 0 or not math.isfinite(value):
        raise ValueError(f"an answer box needs a finite, non-zero answer, not {value!r}")
    return 0.5 * 10 ** (math.floor(math.log10(abs(value))) - digits + 1)


def answer_box(answer: float, label: str = "Your answer", digits: int = 3,
               tolerance: float | None = None) -> Answer:
    """A box that accepts `answer` to `digits` significant digits (or within `tolerance`)."""
    answer = float(answer)
    return Answer(label, answer, tolerance_for(answer, digits) if tolerance is None else float(tolerance))


def _form(answer: Answer) -> str:
    uid = f"s6-answer-{next(_ids)}"
    tol_text = f"{answer.tolerance:.2g}"
    return (
        f'<form class="s6-answer" data-answer="{answer.value!r}" data-tol="{answer.tolerance!r}" '
        f'data-tol-text="{html.escape(tol_text)}">'
        f'<label for="{uid}">{html.escape(answer.label)}</label> '
        f'<input id="{uid}" type="text" inputmode="decimal" autocomplete="off" spellcheck="false" size="14"> '
        f'<button type="submit">Check</button> '
        f'<output for="{uid}" role="status" aria-live="polite"></output>'
        f"</form><script>{_SCRIPT}</script>"
    )
