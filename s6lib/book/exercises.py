"""Numeric exercises that check a reader's answer in the page itself: no kernel, no server.

`answer_box(answer, label, digits=3, hint=...)` displays a small form: the reader types a number,
presses Check (or Enter), and the page says whether it is the answer at the precision the box
states ("3 significant digits", "2 decimal places", "a whole number"). The chapter computes the
answer with the library (never a typed number), and passes the words: a hint for a wrong answer
that fits the exercise, and for each likely mistake (a value the library computes, such as the
result of skipping a step) the hint that names it:

    answer_box(answer("ex-forward-pass-output"), "E_total =", digits=4,
               mistakes={likely_mistake("ex-forward-pass-output", "unswapped"):
                         "That is E_total of the inputs before the swap."},
               hint="Carry the swapped a_h1 and a_h2 through o1 and o2, then add E1 and E2.")

The box reads what people write: "4,704" and "17,022" (thousands), "0,0129" (a decimal comma),
"99.35%" (in a box whose answer is a percentage, `percent=True`; elsewhere "50%" is 0.5), "1/4",
"1.29e-2", "1.29×10^-2", and a typographic minus. The check is plain JavaScript inside the cell's
own HTML output (`PARSER_JS`, tested with node), so it runs wherever the output is shown: the
built website, Jupyter, Colab.

Two editions (the environment variable S6_EDITION when the chapter runs):
- full (the default): the form carries the answer; a number within half a unit of the stated
  precision of it (`Answer.tolerance`) is right.
- student: the form carries no number, only the SHA-256 of the answer rounded at the stated
  precision (`canonical`), and of each likely mistake; the page rounds the reader's number the same
  way and compares hashes. This keeps the number out of the page's text, not out of reach of someone
  who tries every rounded number.

`Answer` holds what the box checks, so a test can compare every exercise's answer with an
independent computation.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from s6lib.book.edition import EDITIONS
from s6lib.book.edition import current as current_edition

_ids = itertools.count(1)

# Reads a typed number; rounds a number to a precision as Python's `canonical` does; SHA-256 of
# ASCII text. Pure functions: tests/test_exercises.py runs them in node.
PARSER_JS = r"""
var s6Answers = (function () {
  var SUPERSCRIPTS = {"\u2070": "0", "\u00b9": "1", "\u00b2": "2", "\u00b3": "3", "\u2074": "4",
    "\u2075": "5", "\u2076": "6", "\u2077": "7", "\u2078": "8", "\u2079": "9", "\u207b": "-"};
  var PLAIN = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

  // One number without a fraction bar: thousands separators, a decimal comma, an exponent.
  function plain(text) {
    if (/^[-+]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?(e[-+]?\d+)?$/i.test(text)) text = text.replace(/,/g, "");
    else if (/^[-+]?[1-9]\d{0,2}(\.\d{3})+,\d+$/.test(text)) text = text.replace(/\./g, "").replace(",", ".");
    else if (/^[^,]*,[^,]*$/.test(text) && text.indexOf(".") < 0) text = text.replace(",", ".");
    if (!PLAIN.test(text)) return null;
    var mantissa = text.replace(/e.*$/i, "").replace(/^[-+]/, "");
    var decimals = mantissa.indexOf(".") < 0 ? 0 : mantissa.length - mantissa.indexOf(".") - 1;
    var digits = mantissa.replace(".", "").replace(/^0+/, "").length;
    return {value: Number(text), digits: digits, decimals: decimals};
  }

  // {value, digits, decimals, percent} of what a reader typed, or null if it is not a number.
  // `digits` and `decimals` count what was typed (for "give 3 significant digits").
  function parse(typed, percentBox) {
    var text = String(typed).trim().replace(/[\u2212\u2013\u2014\ufe63\uff0d]/g, "-")
      .replace(/[\s\u00a0\u2009\u202f]/g, "").replace(/[\u2070\u00b9\u00b2\u00b3\u2074-\u2079\u207b]/g,
        function (c) { return SUPERSCRIPTS[c]; });
    var percent = /%$/.test(text);
    if (percent) text = text.slice(0, -1);
    text = text.replace(/^([^e]*?)(?:[\u00d7x*\u00b7]|\u22c5)10\^?([-+]?\d+)$/i, "$1e$2");
    var parts = text.split("/"), number;
    if (parts.length === 2) {
      var top = plain(parts[0]), bottom = plain(parts[1]);
      if (!top || !bottom || bottom.value === 0) return null;
      number = {value: top.value / bottom.value, digits: Infinity, decimals: Infinity};
    } else if (parts.length === 1) {
      number = plain(text);
    }
    if (!number || !isFinite(number.value)) return null;
    if (percent && !percentBox) number.value /= 100;
    return number;
  }

  // The number rounded at the precision, as text: "1.29e-2" (significant digits, as
  // toExponential writes it) or "0.25" (decimal places). Ties round away from zero in both.
  function canonical(value, kind, places) {
    var text = kind === "digits" ? value.toExponential(places - 1) : value.toFixed(places);
    return /[1-9]/.test(text.replace(/e.*$/, "")) ? text : text.replace("-", "");
  }

  function sha256(ascii) {
    var K = [], H = [], n = 2;
    var fraction = function (x) { return ((x - Math.floor(x)) * 4294967296) >>> 0; };
    while (K.length < 64) {
      var prime = true;
      for (var d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
      if (prime) { if (H.length < 8) H.push(fraction(Math.sqrt(n))); K.push(fraction(Math.cbrt(n))); }
      n++;
    }
    var bytes = [];
    for (var i = 0; i < ascii.length; i++) bytes.push(ascii.charCodeAt(i) & 255);
    var bits = bytes.length * 8;
    bytes.push(128);
    while (bytes.length % 64 !== 56) bytes.push(0);
    for (i = 7; i >= 0; i--) bytes.push(i > 3 ? 0 : (bits >>> (8 * i)) & 255);
    var rotate = function (x, k) { return (x >>> k) | (x << (32 - k)); };
    for (var start = 0; start < bytes.length; start += 64) {
      var w = [];
      for (i = 0; i < 64; i++) {
        if (i < 16) {
          var at = start + 4 * i;
          w[i] = ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
        } else {
          var s0 = rotate(w[i - 15], 7) ^ rotate(w[i - 15], 18) ^ (w[i - 15] >>> 3);
          var s1 = rotate(w[i - 2], 17) ^ rotate(w[i - 2], 19) ^ (w[i - 2] >>> 10);
          w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
        }
      }
      var h = H.slice();
      for (i = 0; i < 64; i++) {
        var t1 = (h[7] + (rotate(h[4], 6) ^ rotate(h[4], 11) ^ rotate(h[4], 25)) +
                  ((h[4] & h[5]) ^ (~h[4] & h[6])) + K[i] + w[i]) >>> 0;
        var t2 = ((rotate(h[0], 2) ^ rotate(h[0], 13) ^ rotate(h[0], 22)) +
                  ((h[0] & h[1]) ^ (h[0] & h[2]) ^ (h[1] & h[2]))) >>> 0;
        h = [(t1 + t2) >>> 0, h[0], h[1], h[2], (h[3] + t1) >>> 0, h[4], h[5], h[6]];
      }
      for (i = 0; i < 8; i++) H[i] = (H[i] + h[i]) >>> 0;
    }
    return H.map(function (x) { return ("00000000" + x.toString(16)).slice(-8); }).join("");
  }

  // What the box says to `typed`: {verdict: "right" | "wrong" | "unreadable", hint, also: an
  // accepted value other than the answer was matched}.
  // `box` is the form's data: answer and tol (full edition) or hash (student edition), kind,
  // places, percent, accepted (other right values or hashes), mistakes ([value, hint, tolerance]
  // or [hash, hint]), hint.
  function judge(typed, box) {
    var number = parse(typed, box.percent);
    if (!number) return {verdict: "unreadable"};
    var rounded = canonical(number.value, box.kind, box.places);
    var near = box.hash !== undefined
      ? function (target) { return sha256(rounded) === target; }
      : function (target, tol) { return Math.abs(number.value - target) <= (tol || box.tol) * (1 + 1e-9); };
    var rights = [box.hash !== undefined ? box.hash : box.answer].concat(box.accepted);
    for (var r = 0; r < rights.length; r++) if (near(rights[r])) return {verdict: "right", also: r > 0};
    for (var i = 0; i < box.mistakes.length; i++) {
      if (near(box.mistakes[i][0], box.mistakes[i][2])) return {verdict: "wrong", hint: box.mistakes[i][1]};
    }
    var short = box.kind === "digits" ? number.digits < box.places : number.decimals < box.places;
    return {verdict: "wrong", hint: box.hint, short: short};
  }

  return {parse: parse, canonical: canonical, sha256: sha256, judge: judge};
})();
"""

# Binds every unbound .s6-answer form on the page (run once per box; a bound form is skipped).
_BIND_JS = r"""
(function () {
  if (typeof document === "undefined") return;
  document.querySelectorAll("form.s6-answer:not([data-bound])").forEach(function (form) {
    form.setAttribute("data-bound", "");
    var data = form.dataset, box = {
      kind: data.kind, places: Number(data.places), percent: data.percent === "true",
      accepted: JSON.parse(data.accepted), mistakes: JSON.parse(data.mistakes), hint: data.hint};
    if (data.hash) box.hash = data.hash;
    else { box.answer = Number(data.answer); box.tol = Number(data.tol); }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = form.querySelector("input"), out = form.querySelector("output");
      var typed = input.value.trim(), result = s6Answers.judge(typed, box);
      form.classList.remove("s6-right", "s6-wrong");
      input.removeAttribute("aria-invalid");
      if (result.verdict === "unreadable") {
        out.textContent = "Type a number, such as " + data.example + ".";
        return;
      }
      var right = result.verdict === "right";
      form.classList.add(right ? "s6-right" : "s6-wrong");
      if (!right) input.setAttribute("aria-invalid", "true");
      var within = result.also ? " is one of the answers this box accepts."
        : box.hash ? " rounds to the answer at " + data.precision + "."
        : " is within \u00b1" + data.tolText + " of the answer.";
      var verdict = document.createElement("strong");
      verdict.textContent = right ? "Right: " + typed + within
        : "Not yet: " + typed + (box.hash ? " does not round to the answer at " + data.precision + "."
                                          : " is not within \u00b1" + data.tolText + " of the answer.");
      out.replaceChildren(verdict, (result.short ? " The box asks for " + data.precision + "." : "") +
                                   (result.hint ? " " + result.hint : ""));
    });
  });
})();
"""


@dataclass(frozen=True, repr=False)
class Answer:
    """What one answer box accepts: `value` at `places` significant digits (`kind` "digits") or
    decimal places (`kind` "decimals"), i.e. within `tolerance`; the hints it gives for `mistakes`
    (value → words) and for any other wrong number (`hint`)."""

    label: str
    value: float
    kind: str
    places: int
    hint: str
    mistakes: tuple[tuple[float, str], ...] = ()
    percent: bool = False
    accepted: tuple[float, ...] = ()

    @property
    def tolerance(self) -> float:
        """Half a unit in the last place asked for."""
        if self.kind == "decimals":
            return 0.5 * 10.0 ** -self.places
        return tolerance_for(self.value, self.places)

    @property
    def precision(self) -> str:
        """The precision asked for, in words."""
        if self.kind == "digits":
            words = f"{self.places} significant digit{'s' * (self.places != 1)}"
        else:
            words = "a whole number" if self.places == 0 else \
                f"{self.places} decimal place{'s' * (self.places != 1)}"
        return f"{words}, in %" if self.percent else words

    def accepts(self, number: float) -> bool:
        return any(abs(number - right) <= self.tolerance * (1 + 1e-9) for right in (self.value, *self.accepted))

    def mistake_tolerance(self, value: float) -> float:
        """Half a unit in the last place asked for, of the mistaken `value`: a slip typed at the
        stated precision is recognised (in significant digits, that unit is the slip's own)."""
        if self.kind == "decimals" or value == 0:
            return self.tolerance
        return tolerance_for(value, self.places)

    def hint_for(self, number: float) -> str:
        """The hint the box gives for a wrong `number`."""
        return next((words for value, words in self.mistakes
                     if abs(number - value) <= self.mistake_tolerance(value) * (1 + 1e-9)), self.hint)

    def rounded(self, number: float) -> str:
        return canonical(number, self.kind, self.places)

    def html(self, edition: str = "full") -> str:
        return _form(self, edition)

    def _repr_html_(self) -> str:
        return self.html(current_edition())

    def __repr__(self) -> str:
        # A notebook keeps text/plain beside the HTML: it names the box, never its answer.
        return f"<answer box {self.label!r}, {self.precision}>"


def tolerance_for(value: float, digits: int = 3) -> float:
    """Half a unit in the `digits`-th significant digit of `value`: an answer rounded to `digits`
    significant digits (or given more precisely) is accepted."""
    if value == 0 or not math.isfinite(value):
        raise ValueError(f"an answer box needs a finite, non-zero answer, not {value!r}")
    return 0.5 * 10 ** (math.floor(math.log10(abs(value))) - digits + 1)


def canonical(value: float, kind: str, places: int) -> str:
    """`value` rounded at the precision as text, exactly as the page's JavaScript writes it
    (toExponential / toFixed: ties away from zero, on the float's exact value): "1.29e-2", "0.25"."""
    exact = Decimal(value)
    if kind == "decimals":
        text = format(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP), "f")
    elif exact == 0:
        text = f"{Decimal(0).quantize(Decimal(1).scaleb(-(places - 1)))}e+0"
    else:
        exponent = exact.adjusted()
        mantissa = exact.scaleb(-exponent).quantize(Decimal(1).scaleb(-(places - 1)), rounding=ROUND_HALF_UP)
        if abs(mantissa) >= 10:  # 9.996 at 3 digits is 1.00e+1
            exponent += 1
            mantissa = exact.scaleb(-exponent).quantize(Decimal(1).scaleb(-(places - 1)), rounding=ROUND_HALF_UP)
        text = f"{mantissa:f}e{exponent:+d}"
    return text if any(c in "123456789" for c in text.split("e")[0]) else text.lstrip("-")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def answer_box(answer: float, label: str, *, hint: str, digits: int | None = None,
               decimals: int | None = None, percent: bool = False,
               mistakes: Mapping[float, str] | None = None, accepted: Iterable[float] = ()) -> Answer:
    """A box that accepts `answer` at `digits` significant digits (3 if neither is given) or at
    `decimals` decimal places (0: a whole number), and says so beside the field.

    `hint` is said after any wrong number; `mistakes` maps each likely wrong value (computed by the
    library) to the words that name that mistake. `accepted`: other values that are right too (both
    roundings of a prediction that the page lets a reader make, say). `percent`: the answer is in percent ("99.35%" and
    "99.35" both read as 99.35). A mistake that the stated precision cannot tell from the answer is
    an error: ask for more digits."""
    if digits is not None and decimals is not None:
        raise ValueError("give the precision as digits or as decimals, not both")
    if not hint or not hint.strip():
        raise ValueError("an answer box needs a hint for a wrong answer that fits its exercise")
    kind, places = ("decimals", decimals) if decimals is not None else ("digits", 3 if digits is None else digits)
    if places < (0 if kind == "decimals" else 1):
        raise ValueError(f"cannot ask for {places} {'decimal places' if kind == 'decimals' else 'significant digits'}")
    box = Answer(label, float(answer), kind, places, hint.strip(),
                 tuple((float(value), words.strip()) for value, words in (mistakes or {}).items()), percent,
                 tuple(float(value) for value in accepted if float(value) != float(answer)))
    tolerance_for(box.value)  # a finite, non-zero answer
    for value, words in box.mistakes:
        if not words:
            raise ValueError(f"the mistake {value!r} of box {label!r} has no words")
        reach = box.tolerance + box.mistake_tolerance(value)  # the two windows must not overlap
        if any(abs(value - right) < reach * (1 - 1e-9) or box.rounded(value) == box.rounded(right)
               for right in (box.value, *box.accepted)):
            raise ValueError(f"box {label!r}: at {box.precision} the likely mistake {value!r} cannot be told "
                             f"from the answer {box.value!r}; ask for more digits")
    return box


def _example(answer: Answer) -> str:
    """Numbers to show how to type one, none sharing the answer's digits (the student edition's
    page must not hint at them)."""
    shown = {answer.rounded(answer.value).split("e")[0].replace(".", "").replace("-", "").strip("0")}
    candidates = ["87.5%", "62.5%"] if answer.percent else ["1/8, 2.5% or 3.1e-4", "3/7, 62.5% or 4.2e-3"]
    return next((c for c in candidates if not any(len(d) > 1 and d in c.replace(".", "") for d in shown)),
                candidates[0])


def _form(answer: Answer, edition: str) -> str:
    if edition not in EDITIONS:
        raise ValueError(f"edition {edition!r}: the editions are {', '.join(EDITIONS)}")
    uid = f"s6-answer-{next(_ids)}"
    if edition == "full":
        checked = (f'data-answer="{answer.value!r}" data-tol="{answer.tolerance!r}" '
                   f'data-tol-text="{answer.tolerance:.2g}" ')
        mistakes = [[value, words, answer.mistake_tolerance(value)] for value, words in answer.mistakes]
        accepted = list(answer.accepted)
    else:
        checked = f'data-hash="{_sha256(answer.rounded(answer.value))}" '
        mistakes = [[_sha256(answer.rounded(value)), words] for value, words in answer.mistakes]
        accepted = [_sha256(answer.rounded(value)) for value in answer.accepted]
    attributes = {
        "kind": answer.kind, "places": str(answer.places), "percent": "true" if answer.percent else "false",
        "precision": answer.precision, "hint": answer.hint,
        "accepted": json.dumps(accepted), "mistakes": json.dumps(mistakes, ensure_ascii=False),
        "example": _example(answer)}
    data = " ".join(f'data-{key}="{html.escape(value)}"' for key, value in attributes.items())
    return (
        f'<form class="s6-answer" {checked}{data}>'
        f'<label for="{uid}">{html.escape(answer.label)}</label> '
        f'<input id="{uid}" type="text" inputmode="text" autocomplete="off" spellcheck="false" size="14" '
        f'aria-describedby="{uid}-precision"> '
        f'<button type="submit">Check</button> '
        f'<span class="s6-precision" id="{uid}-precision">({html.escape(answer.precision)})</span>'
        f'<output for="{uid}" role="status" aria-live="polite"></output>'
        f"</form><script>{PARSER_JS}{_BIND_JS}</script>"
    )
