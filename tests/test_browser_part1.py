"""Part 1 on the built site, as a student meets it: the worked numbers on the pages, exercises
with hidden solutions and answer boxes that judge what is typed, the live slider disabled where
there is no kernel, the static slider working by keyboard and by touch, the equations whole on
a phone, and the workbook's stored values."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sympy as sp

from s6lib.backprop import by_hand
from s6lib.backprop import network as bp
from s6lib.backprop.excel import HEADER_ROW, column_letter, sheet_title

from conftest import BUILD_OUT
from part1_oracle import INDEPENDENT, box_labels

pytestmark = pytest.mark.slow

CHAPTERS = ("forward_pass", "partial_derivatives", "backprop_table", "learning_rates")
PHONE = {"width": 390, "height": 844}


def _html(built_site, chapter):
    return (built_site / "book" / "backprop" / f"{chapter}.html").read_text()


def _math(html):
    """The TeX of every math block on a page, as the page sends it to MathJax."""
    blocks = re.findall(r'<div class="[^"]*\bmath\b[^"]*">\s*\\\[(.*?)\\\]\s*</div>', html, re.S)
    return [unescape(b) for b in blocks]


@pytest.fixture(scope="module")
def site(site_url):
    """Part 1's folder of the built site, served as a static host serves it (tests/test_browser.py)."""
    return f"{site_url}/book/backprop"


def _widget_font(url):
    """The widget manager's own copy of the icon font, which its stylesheet looks for beside the page
    (not a Part 1 matter: tests/test_browser.py checks every page's requests)."""
    return "/@jupyter-widgets/" in url and url.endswith((".woff", ".woff2", ".ttf"))


def _open(browser, url, **context):
    page = browser.new_context(**context).new_page()
    page.set_default_timeout(120_000)  # a busy machine draws the widget pages slowly
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and "status of 404" not in m.text and errors.append(m.text))
    page.on("response", lambda r: r.status >= 400 and not _widget_font(r.url) and errors.append(f"{r.status} {r.url}"))
    page.route("**/*", lambda route: route.continue_() if "127.0.0.1" in route.request.url else route.abort())
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    page.evaluate("() => window.MathJax?.startup?.promise")
    return page, errors


# --- what the pages say -------------------------------------------------------------------------


def test_the_forward_pass_page_shows_every_step_substituted(built_site):
    math = "\n".join(_math(_html(built_site, "forward_pass")))
    assert (r"h_{1} &= w_{1}\,i_{1} + w_{2}\,i_{2} \\ &= 0.15 \times 0.05 + 0.2 \times 0.1 \\ &= 0.0275"
            in math)
    steps = by_hand.forward_steps(bp.CLASS_VALUES)
    # a block's lines are as wide as its widest symbol leaves room for: one of the steps' own symbols
    widths = {by_hand.rhs_width([s.symbol]) for s in steps.values()}
    for step in steps.values():  # every quantity, its forms, the substitution and its value, as one run of lines
        assert any(r" \\ ".join(step.latex_lines(w)) in math for w in widths), step.symbol


def test_the_partial_derivatives_page_names_the_deltas_and_shows_the_update(built_site):
    html = _html(built_site, "partial_derivatives")
    math = "\n".join(_math(html))
    for delta in (r"\delta_{o1}", r"\delta_{o2}", r"\delta_{h1}", r"\delta_{h2}"):
        assert f"{delta} &= " in math, delta
    assert r"\frac{\partial E_{total}}{\partial w_{1}} &= \delta_{h1}\,i_{1}" in math  # ∂E/∂w = δ · input
    w5 = by_hand.steps_latex({"w5": by_hand.chain_rule_step(bp.w5)})  # the chain rule's three factors
    one_line = w5.replace(r" \\ &\quad ", " ")  # the phone's continuation lines joined back
    assert w5 in math and (r"&= \left(0.606478 - 0.5\right) \times 0.606478 \times \left(1 - 0.606478\right) "
                           r"\times 0.506875 \\ &= 0.0128808") in one_line
    assert w5.endswith(r"&= 0.0128808\end{aligned}")
    update = by_hand.update_steps(bp.CLASS_VALUES, 0.5)
    for w, step in update.items():  # one update of all 8 weights, in numbers
        assert f"{sp.latex(step.symbol)} &= " in math and step.latex_lines()[1] in math, w
    assert step.latex_lines()[-1] in math
    assert "+0.026%" in html and "fig-partial-derivatives-sheet-error" in html
    assert r"\frac{\partial E_{total}}{\partial b_{2}} &= \delta_{o1} + \delta_{o2}" in math  # Mazur's biases


def test_the_backprop_table_page_describes_the_workbook_it_ships(built_site):
    html = _html(built_site, "backprop_table")
    assert "bias" not in re.sub(r"<[^>]+>", " ", html.split('id="the-workbook"')[1]).lower()
    link = re.search(r'href="([^"]*backprop_by_hand\.xlsx)"', html)
    assert link, "no download link to the workbook"
    path = (built_site / "book" / "backprop" / link.group(1)).resolve()
    import openpyxl

    stored = openpyxl.load_workbook(path, data_only=True)
    for learning_rate in bp.CLASS_LEARNING_RATES:
        sheet = bp.iterate(bp.CLASS_VALUES, learning_rate)
        ws = stored[sheet_title(learning_rate)]
        for step in (1, 2, bp.SHEET_STEPS):
            for column in bp.COLUMNS:
                got = ws[f"{column_letter(column)}{HEADER_ROW + step}"].value
                assert abs(got - sheet.loc[step, column]) <= 1e-12, (learning_rate, step, column)


class _ReaderText(HTMLParser):
    """The text a reader sees as text: everything but mathematics (which MathJax typesets), code,
    scripts and styles."""

    SKIPPED = {"script", "style", "pre", "code"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        inside_skipped = bool(self.stack) and self.stack[-1]
        self.stack.append(tag in self.SKIPPED or "math" in classes or inside_skipped)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.text.append(data)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_tex_or_myst_source_reaches_the_reader(built_site, chapter):
    """Prose that a code cell printed as Markdown shows its TeX as source ("$\\partial E$", "\\sigma’"),
    and a role inside it stays a role ("{doc}`...`"): outside mathematics and code, no page of Part 1
    holds either, solutions included (they are in the HTML, hidden until opened)."""
    reader = _ReaderText()
    reader.feed(_html(built_site, chapter))
    text = unescape("".join(reader.text))
    assert not re.findall(r".{0,30}\\[A-Za-z,;!]+.{0,30}", text), chapter  # a TeX command: \frac, \sigma, \,
    # inline maths left as $…$ (a spreadsheet's $B$2 has no TeX in it)
    assert not re.findall(r".{0,30}\$[^$\n]{0,80}(?:\\[A-Za-z]|[_^]\{)[^$\n]{0,80}\$.{0,30}", text), chapter
    assert not re.findall(r".{0,30}\{(?:doc|term|ref|numref|cite|cite:p|cite:t|glue|glue:text|glue:md)\}.{0,30}",
                          text), chapter


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_opens_with_objectives_closes_with_takeaways_and_has_exercises(built_site, chapter):
    html = _html(built_site, chapter)
    article = html.split("<article", 1)[1].split("</article>", 1)[0]
    assert article.find("s6-objectives") < article.find("<h2"), "the objectives come first"
    for words in ("You will learn", "You need first", "Time"):
        assert words in article, words
    assert article.rfind("s6-takeaways") > article.rfind('class="exercise'), "the takeaways close the chapter"
    exercises = re.findall(r'<div class="exercise admonition" id="(ex-[^"]+)"', article)
    assert len(exercises) >= 3, exercises
    solved = re.findall(r'<div class="solution dropdown admonition"[^>]*>\s*<p class="admonition-title">'
                        r'Solution to<a class="reference internal" href="#([^"]+)"', article)
    assert set(exercises) <= set(solved), set(exercises) - set(solved)


def test_every_answer_box_on_the_site_holds_the_independent_answer(built_site):
    """The number each box checks is the one the exercise asks for, recomputed without the library."""
    seen = set()
    for chapter in CHAPTERS:
        article = _html(built_site, chapter).split("<article", 1)[1]
        for block in re.split(r'(?=<div class="exercise admonition" id=")', article)[1:]:
            label = re.match(r'<div class="exercise admonition" id="([^"]+)"', block).group(1)
            box = re.search(r'<form class="s6-answer" data-answer="([^"]+)" data-tol="([^"]+)"',
                            block.split("solution", 1)[0])
            if box:
                value, tolerance = float(box.group(1)), float(box.group(2))
                assert abs(value - INDEPENDENT[label]()) <= 1e-9 * max(1.0, abs(value)), label
                assert 0 < tolerance <= 0.5 * max(abs(value), 1.0), label
                seen.add(label)
    assert seen == box_labels()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_reference_repeats_its_own_kind(built_site, chapter):
    """A {ref} to an exercise or figure already says "Exercise 1.3" or "Fig. 2.3": prose that names the
    kind before it reads "exercise Exercise 1.3"."""
    reader = _ReaderText()
    reader.feed(_html(built_site, chapter))
    text = unescape("".join(reader.text))
    doubled = re.findall(r".{0,30}\b(?:exercise|figure|fig\.)\s+(?:Exercise|Fig\.)\s+\d.{0,20}", text, re.I)
    assert not doubled, (chapter, doubled)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_page_prints_an_exercises_answer_above_it(built_site, chapter):
    """The number an answer box wants does not appear, to 3 or 4 significant digits, anywhere in
    the page before its exercise (text or maths; earlier solutions included, hidden or not)."""
    article = _html(built_site, chapter).split("<article", 1)[1]
    starts = [m for m in re.finditer(r'<div class="exercise admonition" id="([^"]+)"', article)]
    for match, end in zip(starts, [m.start() for m in starts[1:]] + [len(article)]):
        box = re.search(r'<form class="s6-answer" data-answer="([^"]+)"', article[match.end():end])
        if not box:
            continue  # an exercise without a box
        value = float(box.group(1))
        above = unescape(re.sub(r"<[^>]+>", " ", article[:match.start()]))
        shown = {f"{value:.3g}", f"{value:.4g}"}
        shown = {s for s in shown if len(s.lstrip("-0.").replace(".", "")) >= 3}  # fewer are too common
        found = [s for s in shown if re.search(rf"(?<![\d.]){re.escape(s)}(?!\d)", above)]
        assert not found, (match.group(1), found)


# --- what a student does in the browser ----------------------------------------------------------


def test_an_answer_box_judges_a_right_and_a_wrong_answer(browser, site):
    page, errors = _open(browser, f"{site}/partial_derivatives.html")
    exercise = page.locator("#ex-partial-derivatives-ratio")
    form = page.locator("form.s6-answer").filter(has=page.locator("label", has_text="ratio ="))
    assert exercise.count() == 1 and form.count() == 1
    right = f"{INDEPENDENT['ex-partial-derivatives-ratio']():.1f}"
    form.locator("input").fill(right)
    form.locator("input").press("Enter")
    output = form.locator("output")
    assert output.inner_text().startswith("Right:") and "within ±0.5" in output.inner_text()
    form.locator("input").fill("4.06")
    form.locator("button").click()
    assert output.inner_text().startswith("Not yet:"), output.inner_text()
    assert "s6-wrong" in form.get_attribute("class")
    form.locator("input").fill("forty")
    form.locator("button").click()
    assert output.inner_text().startswith("Type a number")
    assert not errors, errors


def test_a_solution_stays_hidden_until_asked(browser, site):
    page, _ = _open(browser, f"{site}/forward_pass.html")
    solution = page.locator(".solution").filter(has=page.locator('a[href="#ex-forward-pass-swapped"]')).first
    body = solution.locator(".math").first
    assert not body.is_visible()
    solution.locator("button.toggle-button").click()
    body.wait_for(state="visible", timeout=5000)


def test_the_live_slider_is_disabled_with_its_note_and_the_static_one_works(browser, site):
    page, errors = _open(browser, f"{site}/learning_rates.html", viewport=PHONE, has_touch=True, is_mobile=True)
    page.wait_for_selector(".s6-live-lr-slider", state="attached", timeout=15000)
    note = page.locator("p.s6-kernel-note")
    assert note.is_visible() and "Colab or Binder" in note.inner_text() and "static slider" in note.inner_text()
    live = page.locator(".s6-live-lr-slider")
    assert live.evaluate("e => e.inert") and live.get_attribute("aria-disabled") == "true"
    assert float(live.evaluate("e => getComputedStyle(e).opacity")) < 0.6
    readout = live.locator(".widget-readout").first.inner_text()
    handle = live.locator(".noUi-handle").first
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 150, box["y"] + box["height"] / 2)
    page.mouse.up()
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")
    assert live.locator(".widget-readout").first.inner_text() == readout, "the live slider moved with no kernel"

    shown = ("() => [...document.querySelectorAll('.s6-static-lr-stack img')]"
             ".filter(i => i.offsetParent !== null).map(i => i.src)")
    before = page.evaluate(shown)
    assert len(before) == 1
    track = page.locator(".s6-static-lr-slider .noUi-target").first
    track.scroll_into_view_if_needed()  # a tap lands only on what the screen shows
    area = track.bounding_box()
    assert area["width"] >= 250, f"the static slider's track is {area['width']:.0f} px on a phone"
    handle = page.locator(".s6-static-lr-slider .noUi-handle").first.bounding_box()
    assert handle["width"] >= 24 and handle["height"] >= 24, handle
    page.touchscreen.tap(area["x"] + area["width"] * 0.9, area["y"] + area["height"] / 2)  # a tap on the track
    page.wait_for_function(f"() => ({shown})()[0] !== {before[0]!r}", timeout=5000)
    after_tap = page.evaluate(shown)
    page.locator(".s6-static-lr-slider [role=slider]").first.focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => ({shown})()[0] !== {after_tap[0]!r}", timeout=5000)
    assert not errors, errors


@pytest.mark.parametrize("chapter", CHAPTERS)
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_equation_fits_a_phone(browser, site, chapter, theme):
    """Long substituted equations are broken over aligned lines: none is wider than a 390 px screen."""
    page, errors = _open(browser, f"{site}/{chapter}.html", viewport=PHONE)
    page.evaluate(f"() => {{ document.documentElement.dataset.theme = '{theme}'; }}")
    too_wide = page.evaluate("""() => {
        const right = document.querySelector('article').getBoundingClientRect().right;
        return [...document.querySelectorAll('article mjx-container[display]')]
            .filter(e => e.checkVisibility())
            .map(e => [e.querySelector('mjx-math').getBoundingClientRect(), e.getBoundingClientRect(), e])
            .filter(([m, c]) => m.width > c.width + 1 || m.right > right + 1)
            .map(([m, c, e]) => `${Math.round(m.width)} px in ${Math.round(c.width)}: `
                 + e.textContent.slice(0, 60)).slice(0, 6);
    }""")
    assert not too_wide, too_wide
    name = f"part1-{chapter}-390-{theme}.png"
    (BUILD_OUT or Path(__file__).resolve().parents[1]).joinpath("_build", "screenshots").mkdir(parents=True,
                                                                                              exist_ok=True)
    page.screenshot(path=str((BUILD_OUT or Path(__file__).resolve().parents[1]) / "_build" / "screenshots" / name),
                    full_page=True)
    assert not errors, errors
