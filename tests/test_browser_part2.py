"""Part 2 as a reader meets it in Chromium. The ablations chapter: opening with what to keep, its
write-ups and its statistical detail collapsed, and the statistics it rests on stated on the page. The
draw page: its colour scales still drawn after Clear and a second drawing (as seen in a screenshot), its
text legible in both themes, its pad in the first screen, and words under its result that it must name
one of the ten digits. Every page: the frame and the tables fit at 1280 and 390 px."""

from __future__ import annotations

import io
import re

import pytest

from browser import MIN_CONTRAST, THEMES, Page, contrast, draw_vertical_line
from conftest import ROOT, toc_pages

pytestmark = pytest.mark.slow

PAGE = "book/mnist/ablations"


def test_the_ablations_page_opens_with_what_to_keep_and_collapses_its_detail(browser, site_url):
    """The first section a reader meets names every ingredient the records say to keep (by the page's
    rule, from s6lib.analysis.ablations), near the top; the write-ups and the statistics note are collapsed."""
    from s6lib.analysis import ablations, results
    from s6lib.lab import runs

    rows = ablations.compare_all(results.summarize(runs.load_runs("ablations", runs.locate_runs(ROOT).path)))
    keep = [r.name for r in ablations.what_to_keep(rows)["keep"]]
    page = Page(browser, f"{site_url}/{PAGE}.html", width=1280)
    p = page.page
    try:
        first = p.evaluate("""() => { const h = document.querySelector('article section > h2');
            return {top: h.getBoundingClientRect().top, text: h.closest('section').innerText}; }""")
        assert first["top"] < 1_200, f"the summary starts {first['top']:.0f} px down the page"
        missing = [name for name in keep if name not in first["text"]]
        assert not missing, f"the page's first section does not name what the records say to keep: {missing}"
        closed = p.evaluate("() => [...document.querySelectorAll('details.sd-dropdown')].filter(d => !d.open).length")
        assert closed >= 5, f"the write-ups and the statistics note should be collapsed: {closed} closed drop-downs"
    finally:
        page.close()


# --- The draw page as a reader uses it: its colour scales, its words, where its pad sits -------------------

DRAW = "book/mnist/draw"
FIRST_SCREEN = {"width": 1280, "height": 1000}  # a laptop's first screen


def scales_seen(p) -> list[int]:
    """For each block's colour scale, how many distinct colours a reader sees in it (a screenshot of the
    element as shown, not the canvas's own pixels): a drawn scale runs from dark violet to yellow."""
    from PIL import Image

    counts = []
    for scale in p.locator(".s6d-scale canvas").all():
        image = Image.open(io.BytesIO(scale.screenshot())).convert("RGB")
        width, height = image.size
        row = [image.getpixel((x, height // 2)) for x in range(2, width - 2)]
        counts.append(len({tuple(c // 16 for c in colour) for colour in row}))
    return counts


def maps_inked(p) -> int:
    """How many of the feature-map canvases hold any drawn pixel."""
    return p.evaluate("""() => [...document.querySelectorAll('.s6d-map canvas')].filter(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true;
        return false; }).length""")


def test_the_draw_page_keeps_its_colour_scales_after_clear_and_a_second_drawing(browser, site_url):
    page = Page(browser, f"{site_url}/{DRAW}.html")
    p = page.page
    try:
        p.evaluate("() => window.s6draw.ready")
        blocks = p.locator(".s6d-block").count()
        assert blocks >= 2 and p.locator(".s6d-scale canvas").count() == blocks
        for step in ("a first stroke", "Clear", "a second stroke"):
            if step == "Clear":
                p.locator(".s6d-button").click()
                assert p.evaluate("() => window.s6draw.settled()") is None and maps_inked(p) == 0
            else:
                draw_vertical_line(p)
                assert p.evaluate("() => window.s6draw.settled()")["source"] == "drawing"
                assert maps_inked(p) == p.locator(".s6d-map canvas").count(), f"after {step}: maps left blank"
                ends = p.evaluate("() => [...document.querySelectorAll('.s6d-lo, .s6d-hi')].map(e => e.innerText)")
                assert all(ends), f"after {step}: a colour scale without its two numbers: {ends}"
            seen = scales_seen(p)
            assert all(n >= 8 for n in seen), f"after {step}: colour scales as seen (distinct colours): {seen}"
        assert not page.errors, page.errors
    finally:
        page.close()


# The draw page's own text (what it says while loading, after a stroke and for a test digit) and the
# backgrounds behind it, as [text, colour, backgrounds from the element out to the page].
DRAW_TEXT_COLOURS = r"""() => {
    const rgba = (s) => { const m = s.match(/[\d.]+/g) || [0, 0, 0, 0];
        return [+m[0], +m[1], +m[2], m.length > 3 ? +m[3] : 1]; };
    const out = [];
    for (const el of document.querySelectorAll('#s6-draw *')) {
        const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim();
        if (!own || !el.checkVisibility()) continue;
        const layers = [];
        for (let e = el; e; e = e.parentElement) {
            const bg = rgba(getComputedStyle(e).backgroundColor);
            if (bg[3] > 0) layers.push(bg);
        }
        out.push([own.slice(0, 40), rgba(getComputedStyle(el).color), layers]);
    }
    return out;
}"""


def draw_text_contrast(p) -> list[str]:
    found = []
    for text, fg, layers in p.evaluate(DRAW_TEXT_COLOURS):
        bg = (255, 255, 255)
        for r, g, b, a in reversed(layers):
            bg = tuple(a * c + (1 - a) * under for c, under in zip((r, g, b), bg))
        colour = tuple(fg[3] * c + (1 - fg[3]) * under for c, under in zip(fg[:3], bg))
        if contrast(colour, bg) < MIN_CONTRAST:
            found.append(f"{text!r}: {contrast(colour, bg):.2f}:1")
    return found


@pytest.mark.parametrize("theme", THEMES)
def test_the_draw_pages_text_reads_in_both_themes_after_a_stroke_and_a_sample(browser, site_url, theme):
    page = Page(browser, f"{site_url}/{DRAW}.html", theme=theme)
    p = page.page
    try:
        p.evaluate("() => window.s6draw.ready")
        p.locator(".s6d-button").click()
        draw_vertical_line(p)
        p.evaluate("() => window.s6draw.settled()")
        low = [f"after a stroke: {f}" for f in draw_text_contrast(p)]
        p.locator(".s6d-sample").first.click()
        p.evaluate("() => window.s6draw.settled()")
        low += [f"after a test digit: {f}" for f in draw_text_contrast(p)]
        assert not low, f"{theme}: draw-page text under {MIN_CONTRAST}:1: {low[:8]}"
    finally:
        page.close()


def test_the_draw_pad_is_in_the_first_screen_and_its_result_says_it_picks_one_of_ten(browser, site_url):
    page = Page(browser, f"{site_url}/{DRAW}.html")
    p = page.page
    try:
        p.set_viewport_size(FIRST_SCREEN)
        p.evaluate("() => window.s6draw.ready")
        p.evaluate("() => window.scrollTo(0, 0)")
        pad = p.locator(".s6d-pad").bounding_box()
        assert 0 <= pad["y"] and pad["y"] + pad["height"] <= FIRST_SCREEN["height"], \
            f"the pad spans y = {pad['y']:.0f} to {pad['y'] + pad['height']:.0f} px " \
            f"of a {FIRST_SCREEN['height']} px screen"
        # Beside the prediction and its bars, visible, words that the network must name one of the ten digits.
        bars = p.locator(".s6d-bars").bounding_box()
        said = p.evaluate("""(bars) => [...document.querySelectorAll('#s6-draw p')].filter(e => {
            const r = e.getBoundingClientRect();
            return e.checkVisibility() && r.top >= bars.y + bars.height - 2 && r.top <= bars.y + bars.height + 120
                && r.left < bars.x + bars.width && r.right > bars.x; }).map(e => e.innerText)""", bars)
        assert any(re.search(r"\bten\b", s) and "100%" in s for s in said), \
            f"no words under the bars say that the ten probabilities share 100%: {said}"
    finally:
        page.close()


# --- Layout on every page at 1280 and 390 px -----------------------------------------------------------

# What a reader sees of the theme's frame: visible search boxes, the sidebar's title (are its top, middle
# and bottom the title itself, not something drawn over it, and inside the window?), the sidebar's link to
# the page itself (in view?), and the previous/next links (anything in them cut off?).
FRAME = r"""() => {
    const visible = (e) => e.checkVisibility() && e.getBoundingClientRect().width > 0;
    const searches = [...document.querySelectorAll('.search-button-field, form.bd-search')].filter(visible).length;
    const title = document.querySelector('.bd-sidebar-primary .logo__title');
    let titleSeen = null;
    if (title && visible(title)) {
        const r = title.getBoundingClientRect();
        const spots = [[r.left + r.width / 2, r.top + 2], [r.left + r.width / 2, r.bottom - 2],
                       [r.left + r.width / 2, (r.top + r.bottom) / 2]];
        titleSeen = r.top >= 0 && spots.every(([x, y]) => title.contains(document.elementFromPoint(x, y)));
    }
    const current = [...document.querySelectorAll('.bd-sidebar-primary .bd-docs-nav a.current')].pop();
    let currentSeen = null;
    if (current && visible(current)) {
        const r = current.getBoundingClientRect();
        currentSeen = r.top >= 0 && r.bottom <= window.innerHeight
            && current.contains(document.elementFromPoint(r.left + 4, (r.top + r.bottom) / 2));
    }
    const cut = [...document.querySelectorAll('.prev-next-area a, .prev-next-area a *')].filter(e => {
        const r = e.getBoundingClientRect();
        return visible(e) && (e.scrollWidth > e.clientWidth + 1 || r.right > window.innerWidth + 1 || r.left < -1);
    }).map(e => e.className + ': ' + e.innerText.replace(/\s+/g, ' ').slice(0, 40));
    return {searches, titleSeen, currentSeen, cut};
}"""

# Each visible table of the article whose columns do not all fit its box (a reader must scroll to see
# the last ones): its head row, its number of columns and widths.
TABLES_CUT = r"""() => [...document.querySelectorAll('article table')].filter(t => t.checkVisibility()).map(t => {
    const box = t.parentElement.getBoundingClientRect(), row = t.querySelector('tr');
    const last = row.lastElementChild.getBoundingClientRect();
    return [row.innerText.replace(/\s+/g, ' ').slice(0, 50), row.children.length,
            Math.round(last.right - box.right), Math.round(box.width)];
}).filter(([, , over]) => over > 1)"""


@pytest.mark.parametrize("page_path", toc_pages())
def test_the_frame_and_the_tables_fit_at_both_widths(browser, site_url, page_path):
    """At 1280 px: one search box, the sidebar's title whole and its link to the page in view, every
    table's last column in its box. At
    390 px: the previous/next links not cut off, and every table of up to four columns whole."""
    problems = []
    for width in (1280, 390):
        for theme in THEMES:
            page = Page(browser, f"{site_url}/{page_path}.html", width=width, theme=theme)
            p = page.page
            try:
                frame = p.evaluate(FRAME)
                view = f"{width} px, {theme}"
                if width == 1280:
                    if frame["searches"] != 1:
                        problems.append(f"{view}: {frame['searches']} search boxes")
                    if frame["titleSeen"] is False:
                        problems.append(f"{view}: the sidebar's title is cut off or covered")
                    if frame["currentSeen"] is False:
                        problems.append(f"{view}: the sidebar does not show the link to this page")
                p.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
                problems += [f"{view}: cut off: {c}" for c in p.evaluate(FRAME)["cut"]]
                for head, columns, over, box in p.evaluate(TABLES_CUT):
                    if width == 1280 or columns <= 4:
                        problems.append(f"{view}: table {head!r} ({columns} columns): its last column ends {over} px "
                                        f"past its {box} px box")
            finally:
                page.close()
    assert not problems, "\n".join(problems)
