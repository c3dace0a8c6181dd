"""Open the built pages in a real browser (Debian's headless Chromium) with no network, as readers meet
them: on a desktop (1280 px) and a phone (390 px), in the light and the dark theme.

Each page must load without JavaScript errors, with its math typeset, its figures loaded (with real
alt text and a numbered caption, text readable on a phone), its widgets rendered, its tables legible
in both themes (WCAG AA contrast), nothing wider than its column outside a visible scroll box, no
serious or critical axe-core violation, and (for chapters) its Colab and Binder links present. The
test prints each page's bytes. Screenshots of every page at both widths in both themes are kept in
_build/screenshots/.

Other browser test files may import the fixtures `site_url` and `browser` and the helpers `Page`,
`open_page` and `SHOTS` from here.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from browser import (
    MIN_CONTRAST,
    MIN_TEXT_PX,
    SHOTS,
    THEMES,
    WIDTHS,
    Page,
    contrast,
    draw_vertical_line,
    page_name,
    shot,
)
from conftest import ROOT, toc_pages

AXE = ROOT / "tools" / "web" / "node_modules" / "axe-core" / "axe.min.js"
# The maintainers' build report and the pages the student edition leaves out (the instructor guide): they
# may name record files and the work a sweep still has to do.
NOT_FOR_STUDENTS = {"book/status", *yaml.safe_load((ROOT / "_config.yml").read_text())
                    .get("student_edition", {}).get("leave_out", [])}

pytestmark = pytest.mark.slow
pytest.importorskip("playwright.sync_api", reason="pip install -r requirements.txt")


@pytest.mark.parametrize("page_path", toc_pages())
def test_page_in_browser(browser, site_url, page_path):
    page = Page(browser, f"{site_url}/{page_path}.html")
    p = page.page
    try:
        print(f"\n{page_path}: {page.total_bytes() / 1e6:.2f} MB loaded "
              f"({', '.join(f'{Path(urlparse(u).path).name} {n / 1e3:.0f} KB' for u, n in largest(page.bytes))})")
        assert not page.errors, f"JavaScript errors: {page.errors}"
        needed = [u for u in page.external if not u.startswith(("https://colab", "https://mybinder"))]
        assert not needed, f"the page asked the network for {needed}"

        # Math: every math node typeset by MathJax, and no raw TeX delimiters left in the text.
        math_nodes = p.locator("span.math, div.math").count()
        typeset = p.locator("span.math mjx-container, div.math mjx-container").count()
        assert typeset == math_nodes, f"{math_nodes - typeset} of {math_nodes} math elements not typeset"
        loads_mathjax = any("/mathjax/" in u for u in page.bytes)
        assert loads_mathjax == (math_nodes > 0), "MathJax should load exactly on the pages with math"
        text = page.text_outside_code()
        for raw in ("\\(", "\\)", "\\[", "$$"):
            assert raw not in text, f"raw TeX {raw!r} left on the page"

        # Figures: every image loaded.
        broken = p.evaluate("() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                            ".map(i => i.src)")
        assert not broken, f"images that did not load: {broken}"

        # Widgets: each embedded widget view has been rendered into the DOM by the HTML manager.
        views = p.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
        if views:
            p.wait_for_selector(".jupyter-widgets", state="attached", timeout=15000)
            rendered = p.locator(".jupyter-widgets").count()
            assert rendered >= views, f"{views} widget views on the page, {rendered} rendered"
        loads_widgets = any("embed-amd.js" in u for u in page.bytes)
        assert loads_widgets == bool(views), "the widget manager should load exactly on the pages with widgets"

        # A static slider (a SelectionSlider jslink'ed to a Stack of precomputed
        # plots) must change the plot shown with no kernel behind the page.
        if p.locator(".s6-static-lr-slider").count():
            shown = ("() => [...document.querySelectorAll('.s6-static-lr-stack img')]"
                     ".filter(i => i.offsetParent !== null).map(i => i.src)")
            before = p.evaluate(shown)
            assert len(before) == 1, f"the static slider's stack shows {len(before)} plots, not 1"
            p.locator(".s6-static-lr-slider [role=slider]").first.focus()
            p.keyboard.press("ArrowRight")
            p.wait_for_function(f"() => ({shown})()[0] !== {before[0]!r}", timeout=5000)

        # What a reader sees: no table noise, every section in the right-hand contents, no work queue.
        noise = p.evaluate(TABLE_NOISE)
        assert not noise, f"tables show missing values as words: {noise}"
        headings, toc = p.evaluate(HEADINGS_AND_TOC)
        missing = [h for h in headings if h not in toc]
        assert not missing, f"sections missing from the right-hand contents: {missing}"
        if page_path not in NOT_FOR_STUDENTS:
            text = p.evaluate("() => document.querySelector('article').innerText")
            queue = [w for w in ("python -m s6lib sweep", "still need", "Runs still to do", ".json") if w in text]
            assert not queue, f"a reader's page lists work still to do ({queue}); that belongs on the Status page"

        # The licence and the maintainers in every page's footer.
        footer = p.evaluate("() => document.querySelector('footer.bd-footer-content')?.innerText || ''")
        assert "CC BY 4.0" in footer and "MIT" in footer and "Maintained by" in footer, footer

        # Launch buttons on every chapter.
        if (ROOT / f"{page_path}.ipynb").exists():
            for host in ("colab.research.google.com/github/", "mybinder.org/v2/gh/"):
                link = p.locator(f'a[href*="{host}"][href*="{page_path}.ipynb"]')
                assert link.count() >= 1, f"no launch link to {host}... for {page_path}.ipynb"
    finally:
        page.close()


def largest(sizes: dict[str, int], n: int = 3) -> list[tuple[str, int]]:
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:n]


@pytest.mark.parametrize("page_path", toc_pages())
def test_figures_have_alt_text_and_a_numbered_caption(browser, site_url, page_path):
    """Every figure a chapter shows (an image in a cell's output) says in words what it shows, and has
    a caption with its number (myst-nb: cell metadata mystnb.figure.caption/name, mystnb.image.alt)."""
    page = Page(browser, f"{site_url}/{page_path}.html")
    try:
        problems = page.page.evaluate(FIGURE_PROBLEMS)
        assert not problems, f"{len(problems)} figures without real alt text or a numbered caption: {problems[:6]}"
    finally:
        page.close()


FIGURE_PROBLEMS = r"""() => {
    const found = [];
    for (const img of document.querySelectorAll('article img')) {
        if (img.closest('.jupyter-widgets') && img.closest('.s6-static-lr-stack')
            && img.offsetParent === null) continue;  // a hidden picture of the slider's stack
        const alt = (img.getAttribute('alt') || img.getAttribute('title') || '').trim();
        const name = img.getAttribute('src').split('/').pop().slice(0, 24);
        if (alt.length < 12 || /\.(png|svg|jpe?g|gif)\b|^\.\.?\/|_images\//i.test(alt) || alt === img.src) {
            found.push(`${name}: alt text ${JSON.stringify(alt.slice(0, 40))} does not say what it shows`);
        }
        if (img.closest('.jupyter-widgets')) continue;  // a widget's picture: its cell's figure has the caption
        const caption = img.closest('figure')?.querySelector('figcaption')?.innerText || '';
        if (!/^(Fig\.|Figure)\s*\d/.test(caption.trim())) {
            found.push(`${name}: no numbered caption (${JSON.stringify(caption.slice(0, 30))})`);
        }
    }
    return found;
}"""


@pytest.mark.parametrize("page_path", toc_pages())
def test_page_reads_well_in_both_themes_at_both_widths(browser, site_url, page_path):
    """At 1280 and 390 px, light and dark: every table cell's text contrasts with its background (WCAG
    AA), nothing is wider than the column outside a box that visibly scrolls, and figure text is at
    least MIN_TEXT_PX high. Screenshots of all four views are kept."""
    failures = []
    for device, width in WIDTHS.items():
        for theme in THEMES:
            page = Page(browser, f"{site_url}/{page_path}.html", width=width, theme=theme)
            try:
                view = f"{width} px, {theme}"
                assert page.page.evaluate("() => document.documentElement.dataset.theme") == theme
                failures += [f"{view}: {c}" for c in low_contrast(page.page)]
                failures += [f"{view}: wider than its column: {o}" for o in page.page.evaluate(OVERFLOWING)]
                if theme == "light":
                    failures += [f"{view}: figure text {px:.1f} px: {src}" for src, px in figure_text_px(page.page)
                                 if px < MIN_TEXT_PX]
                shot(page, f"{page_name(page_path)}-{width}-{theme}")
            finally:
                page.close()
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures[:20])


# For every visible table cell of the article: its text colour and the colours of the backgrounds
# behind it, from the cell out to the page (translucent stripes included), as [r, g, b, a].
TABLE_COLOURS = r"""() => {
    const rgba = (s) => { const m = s.match(/[\d.]+/g) || [0, 0, 0, 0];
        return [+m[0], +m[1], +m[2], m.length > 3 ? +m[3] : 1]; };
    const out = [];
    for (const cell of document.querySelectorAll('article table td, article table th')) {
        const text = cell.innerText.trim();
        if (!text || !cell.checkVisibility()) continue;
        const layers = [];
        for (let el = cell; el; el = el.parentElement) {
            const bg = rgba(getComputedStyle(el).backgroundColor);
            if (bg[3] > 0) layers.push(bg);
        }
        const style = getComputedStyle(cell);
        out.push([text.slice(0, 30), rgba(style.color), layers, +style.opacity]);
    }
    return out;
}"""


def low_contrast(p) -> list[str]:
    found = []
    for text, fg, layers, _ in p.evaluate(TABLE_COLOURS):
        bg = (255, 255, 255)
        for r, g, b, a in reversed(layers):  # from the page inwards
            bg = tuple(a * c + (1 - a) * under for c, under in zip((r, g, b), bg))
        colour = tuple(fg[3] * c + (1 - fg[3]) * under for c, under in zip(fg[:3], bg))
        ratio = contrast(colour, bg)
        if ratio < MIN_CONTRAST:
            found.append(f"table cell {text!r}: contrast {ratio:.2f}:1 "
                         f"(text rgb{tuple(round(c) for c in colour)} on rgb{tuple(round(c) for c in bg)})")
    return found


# Elements of the article that stick out of the content column, or whose content is cut off in a box
# that does not show that it scrolls (s6.js marks boxes that scroll sideways, s6.css shadows their
# hidden edge), and a page wider than the window.
OVERFLOWING = r"""() => {
    window.s6MarkScrollBoxes?.();
    const article = document.querySelector('article');
    const right = article.getBoundingClientRect().right;
    const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
    const describe = (el) => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
        ? '.' + el.className.trim().split(/\s+/)[0] : '') + ': ' + (el.innerText || el.getAttribute('alt') || '')
        .trim().slice(0, 50).replace(/\s+/g, ' ');
    // MathJax's copy for screen readers (mjx-assistive-mml) is clipped to nothing by design, yet counts
    // in its box's scrollWidth: math is cut off only if what MathJax draws (mjx-math) overflows.
    const drawnFits = (el) => {
        const drawn = el.querySelectorAll('mjx-math');
        if (!drawn.length || !el.querySelector('mjx-assistive-mml')) return false;
        const box = el.getBoundingClientRect();
        return [...drawn].every(m => { const r = m.getBoundingClientRect();
            return r.left >= box.left - 1 && r.right <= box.right + 1; });
    };
    const found = [];
    if (document.documentElement.scrollWidth > window.innerWidth + 1) {
        found.push(`the page scrolls sideways (${document.documentElement.scrollWidth} px in ${window.innerWidth})`);
    }
    for (const el of article.querySelectorAll('*')) {
        if (!el.checkVisibility() || el.closest('.jupyter-widgets, mjx-assistive-mml')) continue;
        const box = el.getBoundingClientRect();
        if (box.width === 0) continue;
        let holder = el.parentElement;
        while (holder && holder !== article && !scrolls(holder)) holder = holder.parentElement;
        const held = holder && holder !== article && holder.getBoundingClientRect().right <= right + 1;
        if (box.right > right + 1 && !held) found.push(describe(el));
        if (el.clientWidth === 0) continue;  // an inline element: its text wraps with the line
        if (scrolls(el) && el.scrollWidth > el.clientWidth + 1 && !el.classList.contains('s6-scrolls')) {
            found.push('cut off with no scroll cue: ' + describe(el));
        }
        if (getComputedStyle(el).overflowX === 'hidden' && el.scrollWidth > el.clientWidth + 1 && !drawnFits(el)) {
            found.push('cut off: ' + describe(el));
        }
    }
    return [...new Set(found)].slice(0, 8);
}"""

TABLE_NOISE = """() => [...document.querySelectorAll('article table td, article table th')]
    .map(c => c.innerText.trim()).filter(t => ['None', 'nan', 'NaN', '<NA>'].includes(t)).slice(0, 8)"""

# The h2/h3 headings of the article, and the targets of the right-hand contents' links.
HEADINGS_AND_TOC = """() => [
    [...document.querySelectorAll('article section > h2, article section > h3')]
        .map(h => h.closest('section').id).filter(Boolean),
    [...document.querySelectorAll('.bd-toc a[href^="#"]')].map(a => a.getAttribute('href').slice(1)),
]"""


def figure_text_px(p) -> list[tuple[str, float]]:
    """(image, its smallest text in CSS px as shown) for each visible figure of the article: the size
    the figure's PNG records (s6lib.book.style), scaled by how wide the browser draws the image."""
    from PIL import Image

    shown = p.evaluate("""async () => {
        const out = [];
        for (const i of document.querySelectorAll('article img')) {
            if (i.offsetParent === null || i.naturalWidth === 0) continue;
            const bytes = new Uint8Array(await (await fetch(i.currentSrc)).arrayBuffer());
            let binary = '';
            for (const b of bytes) binary += String.fromCharCode(b);
            out.push([i.getAttribute('src').slice(0, 60), btoa(binary), i.naturalWidth,
                      i.getBoundingClientRect().width]);
        }
        return out;
    }""")
    sizes = []
    for src, data, natural, width in shown:
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        points, dpi = image.info.get("s6:min-font-pt"), image.info.get("s6:dpi")
        if points is None or dpi is None:
            sizes.append((src, 0.0))  # a figure that does not say its text size cannot be checked
            continue
        sizes.append((src, float(points) * float(dpi) / 72 * width / natural))
    return sizes


@pytest.mark.parametrize("page_path", toc_pages())
def test_axe_finds_no_serious_or_critical_violation(browser, site_url, page_path):
    """axe-core (pinned in tools/web/package.json) on the page as loaded, in both themes."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make vendor` (npm ci in tools/web)", pytrace=False)
    found = []
    for theme in THEMES:
        page = Page(browser, f"{site_url}/{page_path}.html", theme=theme)
        try:
            page.page.add_script_tag(path=str(AXE))
            violations = page.page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
                .violations.filter(v => ['serious', 'critical'].includes(v.impact))
                .map(v => [v.id, v.impact, v.help, v.nodes.slice(0, 3).map(n => n.target.join(' ')
                     + ': ' + (n.failureSummary || '').split('\\n').slice(1, 2).join(' ').trim().slice(0, 120))])""")
            found += [f"{theme}: {rule} ({impact}): {what}: {nodes}" for rule, impact, what, nodes in violations]
        finally:
            page.close()
    assert not found, "\n".join(found)


def test_the_built_site_serves_at_most_25_mb(built_site):
    """The site holds what its pages load: theirs and the vendored scripts, fonts and the draw page's
    network, not whole npm packages."""
    files = [p for p in built_site.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    parts: dict[str, int] = {}
    for p in files:
        top = p.relative_to(built_site).parts
        key = "/".join(top[:2]) if top[0] in ("vendor", "_static", "book") and len(top) > 2 else top[0]
        parts[key] = parts.get(key, 0) + p.stat().st_size
    print(f"\nthe built site: {total / 1e6:.1f} MB in {len(files)} files; "
          + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(parts.items(), key=lambda kv: -kv[1])[:8]))
    assert total <= 25e6
    assert not list(built_site.rglob("*.map")) and not (built_site / "_static/scripts/fontawesome.js").exists()


def test_the_references_page_lists_at_least_12_works(browser, site_url):
    page = Page(browser, f"{site_url}/book/references.html")
    try:
        entries = page.page.locator("article div.citation").count()
        assert entries >= 12, f"the References page lists {entries} works"
    finally:
        page.close()


# --- the draw-a-digit page -------------------------------------------------------------------------

DRAW = "book/mnist/draw.html"
LINE = 10e6  # a 10 Mbit/s line


PAD_INK = "() => { const c = document.querySelector('.s6d-pad'); return c.toDataURL(); }"
INKED = """() => { const c = document.querySelector('.s6d-pad'), d = c.getContext('2d')
    .getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 0; i < d.length; i += 4) n += d[i] > 0;
    return n; }"""


def test_draw_page_is_light_and_reads_the_first_stroke_fast_on_a_slow_line(browser, site_url):
    """On a 10 Mbit/s line: at most 1 MB before the reader's first stroke, the pad and its samples
    usable, and the first prediction at most 2 s after the first stroke."""
    page = Page(browser, f"{site_url}/{DRAW}", throttle=LINE)
    try:
        p = page.page
        p.evaluate("() => window.s6draw.ready")
        loaded = page.total_bytes()
        print(f"\ndraw page on a 10 Mbit/s line: {loaded / 1e6:.2f} MB before the first stroke; "
              + ", ".join(f"{Path(urlparse(u).path).name} {n / 1e3:.0f} KB" for u, n in largest(page.bytes, 5)))
        assert loaded <= 1e6
        assert p.locator(".s6d-sample").count() == 24 and not page.errors
    finally:
        page.close()

    # A reader who starts drawing the moment the pad appears.
    page = Page(browser, f"{site_url}/{DRAW}", throttle=LINE, wait=False)
    try:
        p = page.page
        p.wait_for_selector(".s6d-pad")
        draw_vertical_line(p)
        result = p.evaluate("() => window.s6draw.settled()")
        timing = p.evaluate("() => window.s6draw.timing")
        wait = timing["firstPredictionMs"] - timing["firstStrokeMs"]
        print(f"draw page: the pad ready {timing['padMs']:.0f} ms after the page started, the network "
              f"{timing['readyMs']:.0f} ms; first stroke at {timing['firstStrokeMs']:.0f} ms, first prediction "
              f"{wait:.0f} ms after it")
        assert result["source"] == "drawing" and result["prediction"] == 1
        assert wait <= 2000
        assert timing["readyMs"] - timing["padMs"] <= 2000  # even for a stroke the moment the pad appears
        assert not page.errors, page.errors
    finally:
        page.close()


def test_ink_drawn_while_the_network_loads_is_read_not_replaced(browser, site_url):
    page = Page(browser, f"{site_url}/{DRAW}", hold="*/draw/net6.json", wait=False)
    try:
        p = page.page
        p.wait_for_selector(".s6d-pad")
        assert "Loading" in p.locator(".s6d-status").inner_text()  # the loading state
        draw_vertical_line(p)
        ink = p.evaluate(PAD_INK)
        assert p.evaluate("() => window.s6draw.last") is None  # nothing to predict with yet
        page.release()
        result = p.evaluate("() => window.s6draw.ready.then(() => window.s6draw.settled())")
        assert p.evaluate(PAD_INK) == ink, "the reader's drawing was replaced when the network arrived"
        assert result["source"] == "drawing" and result["prediction"] == 1
        assert p.locator(".s6d-sample[aria-pressed=true]").count() == 0
        assert "reads 1" in p.locator(".s6d-status").inner_text()
        shot(page, "draw-after-drawing-1280")
        assert not page.errors, page.errors
    finally:
        page.close()


def test_every_sample_gives_pytorchs_probabilities_and_a_cross_exactly_when_wrong(browser, site_url, mnist_root):
    import numpy as np
    import torch

    from s6lib.mnist import digit
    from s6lib.mnist.data import mnist_tensors
    from s6lib.mnist.train import load_checkpoint

    from conftest import CHECKPOINT, page_input

    images, labels = mnist_tensors(False, mnist_root)
    model, _ = load_checkpoint(CHECKPOINT)
    gallery = digit.gallery_indices(root=mnist_root)
    page = Page(browser, f"{site_url}/{DRAW}")
    try:
        p = page.page
        p.evaluate("() => window.s6draw.ready")
        facts = p.evaluate("() => window.s6draw.facts")
        buttons = p.locator(".s6d-sample")
        assert buttons.count() == len(facts["digits"]) == 24
        for i, d in enumerate(facts["digits"]):
            buttons.nth(i).click()
            shown = p.evaluate("() => window.s6draw.settled()")
            assert shown["source"] == d["index"]
            with torch.no_grad():
                theirs = model(page_input(images[d["index"]])).exp()[0].numpy()
            np.testing.assert_allclose(shown["probs"], theirs, atol=1e-4, rtol=0, err_msg=f"test image {d['index']}")
            wrong = shown["prediction"] != int(labels[d["index"]])
            assert wrong == (int(theirs.argmax()) != d["label"])
            assert ("✗" in buttons.nth(i).inner_text()) == wrong, f"test image {d['index']}: ✗ shown {not wrong}"
            note = p.locator(".s6d-note")
            links = note.locator('a[href="training.html#what-it-gets-wrong"]').count()
            assert links == (d["index"] in gallery) == d["in_gallery"], f"test image {d['index']}: gallery link"
            assert f"reads it as {shown['prediction']}" in note.inner_text()
        assert sum("✗" in t for t in buttons.all_inner_texts()) == 8
        anchor = p.evaluate("async () => (await (await fetch('training.html')).text())"
                            ".includes('id=\"what-it-gets-wrong\"')")
        assert anchor, "the training chapter has no section #what-it-gets-wrong for the gallery links"
        assert not page.errors, page.errors
    finally:
        page.close()


def test_draw_pad_by_mouse_keyboard_touch_and_tap(browser, site_url):
    page = Page(browser, f"{site_url}/{DRAW}")
    try:
        p = page.page
        p.evaluate("() => window.s6draw.ready")
        # the mouse: a vertical stroke is a 1
        p.locator(".s6d-button").click()
        draw_vertical_line(p)
        assert p.evaluate("() => window.s6draw.settled()")["prediction"] == 1
        # the keyboard alone: Tab to the pad, pen down, twelve steps down, pen up
        p.locator(".s6d-button").click()  # Clear
        assert p.evaluate("() => window.s6draw.last") is None
        p.keyboard.press("Shift+Tab")
        assert p.evaluate("() => document.activeElement.classList.contains('s6d-pad')")
        for key in ["ArrowUp"] * 6 + ["Space"] + ["ArrowDown"] * 12 + ["Space"]:
            p.keyboard.press(key)
        result = p.evaluate("() => window.s6draw.settled()")
        assert result["source"] == "drawing" and result["prediction"] == 1
        p.keyboard.press("Escape")
        assert p.evaluate("() => window.s6draw.settled()") is None and p.evaluate(INKED) == 0
        # the samples are buttons, reachable with Tab and pressed with Enter
        p.locator(".s6d-sample").first.focus()
        p.keyboard.press("Enter")
        assert (p.evaluate("() => window.s6draw.settled()")["source"]
                == p.evaluate("() => window.s6draw.facts.digits[0].index"))
        assert not page.errors, page.errors
    finally:
        page.close()

    # a phone: 390 px wide, touch events; a tap draws a dot, a stroke reads as a 1
    page = Page(browser, f"{site_url}/{DRAW}", width=390, touch=True)
    try:
        p = page.page
        p.evaluate("() => window.s6draw.ready")
        p.locator(".s6d-pad").scroll_into_view_if_needed()
        p.locator(".s6d-button").tap()
        box = p.locator(".s6d-pad").bounding_box()
        p.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        assert p.evaluate(INKED) > 200, "a tap drew no dot"
        assert p.evaluate("() => window.s6draw.settled()")["source"] == "drawing"
        p.locator(".s6d-button").tap()
        draw_vertical_line(p, touch=True)
        assert p.evaluate("() => window.s6draw.settled()")["prediction"] == 1
        assert p.evaluate("() => document.querySelector('.s6d-pad').getBoundingClientRect().right") <= 390
        shot(page, "draw-after-drawing-390")
        assert not page.errors, page.errors
    finally:
        page.close()


def test_the_page_says_what_runs_the_network(browser, site_url):
    page = Page(browser, f"{site_url}/{DRAW}")
    try:
        text = page.page.locator("article").inner_text()
        assert "plain JavaScript" in text and "tools/web/net.js" in text
        assert not any("onnx" in u.lower() or u.endswith(".wasm") for u in page.bytes)
    finally:
        page.close()


def test_draw_files_are_small(built_site):
    files = ([built_site / "vendor" / name for name in ("draw.js", "net.js")]
             + list((built_site / "draw").glob("*.json")))
    size = sum(p.stat().st_size for p in files)
    print(f"\ndraw page: its scripts, network and samples are {size / 1e3:.0f} KB")
    assert size < 250_000 and json.loads((built_site / "draw" / "net6.json").read_text())["layers"]


# --- what a reader perceives: text after interaction, math, solutions, answer boxes -----------------
# These open every page as it is built (S6_REUSE_BUILD=1 with a partial build: pages not built are
# skipped, never passed).


def built_page(site_dir: Path, page_path: str) -> None:
    if not (site_dir / f"{page_path}.html").exists():
        if os.environ.get("S6_REUSE_BUILD") == "1":
            pytest.skip(f"{page_path} is not in this build")
        pytest.fail(f"{page_path}.html was not built")


# Every visible piece of text in the article (an element with a text node of its own, a math formula,
# an answer box's message): its text colour, and the colours behind it from the element out to the
# page, as [r, g, b, a]. Disabled controls (inert, aria-disabled) are exempt, as WCAG exempts them.
TEXT_COLOURS = r"""(selector) => {
    const rgba = (s) => { const m = s.match(/[\d.]+/g) || [0, 0, 0, 0];
        return [+m[0], +m[1], +m[2], m.length > 3 ? +m[3] : 1]; };
    const out = [];
    const own = (el) => [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    for (const el of document.querySelectorAll(selector)) {
        if (el.matches('mjx-container *, script, style, svg *')) continue;
        if (!(own(el) || el.matches('mjx-container, form.s6-answer output'))) continue;
        if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
        if (el.closest('[inert], [aria-disabled="true"], mjx-assistive-mml, .sr-only, .visually-hidden')) continue;
        const box = el.getBoundingClientRect();
        if (box.width < 1 || box.height < 1) continue;
        const layers = [];
        let opacity = 1;
        for (let e = el; e; e = e.parentElement) {
            const style = getComputedStyle(e);
            opacity *= +style.opacity;
            const bg = rgba(style.backgroundColor);
            if (bg[3] > 0) layers.push(bg);
        }
        const text = (el.matches('mjx-container') ? 'math: ' : '') + el.textContent.trim().slice(0, 40);
        out.push([text, rgba(getComputedStyle(el).color), layers, opacity]);
    }
    return out;
}"""


def poor_contrast(p, selector: str = "article *", minimum: float = MIN_CONTRAST) -> list[str]:
    """Every visible text (of the elements `selector` picks) that contrasts less than `minimum` with
    what is behind it."""
    found = []
    for text, fg, layers, opacity in p.evaluate(TEXT_COLOURS, selector):
        bg = (255, 255, 255)
        for r, g, b, a in reversed(layers):
            bg = tuple(a * c + (1 - a) * under for c, under in zip((r, g, b), bg))
        alpha = fg[3] * opacity
        colour = tuple(alpha * c + (1 - alpha) * under for c, under in zip(fg[:3], bg))
        ratio = contrast(colour, bg)
        if ratio < minimum:
            found.append(f"{text!r}: {ratio:.2f}:1 (rgb{tuple(round(c) for c in colour)} on "
                         f"rgb{tuple(round(c) for c in bg)})")
    return found


# Each answer box of the page as the page's own script reads it (the full edition carries the answer).
ANSWER_BOXES = r"""() => [...document.querySelectorAll('form.s6-answer')].map(f => ({
    label: f.querySelector('label').innerText, answer: f.dataset.answer === undefined ? null : +f.dataset.answer,
    kind: f.dataset.kind, places: +f.dataset.places, percent: f.dataset.percent === 'true',
    precision: f.dataset.precision, hint: f.dataset.hint, mistakes: JSON.parse(f.dataset.mistakes || '[]'),
    accepted: JSON.parse(f.dataset.accepted || '[]'), tol: f.dataset.tol === undefined ? null : +f.dataset.tol,
    shown: f.querySelector('.s6-precision')?.checkVisibility() ? f.querySelector('.s6-precision').innerText : ''}))"""


def answer_boxes(p) -> list[dict]:
    """The page's answer boxes; a box that does not name its precision (kind, places) is read as
    asking for the significant digits its tolerance allows."""
    boxes = p.evaluate(ANSWER_BOXES)
    for box in boxes:
        if not box["kind"] and box["answer"] and box["tol"]:
            box["kind"] = "digits"
            box["places"] = round(math.floor(math.log10(abs(box["answer"]))) - math.log10(2 * box["tol"]) + 1)
        box["hint"] = box["hint"] or ""
    return boxes


def rounded_text(value: float, kind: str, places: int) -> str:
    """`value` as a page prints it at the precision: plain decimals, no exponent where avoidable."""
    if kind == "decimals":
        return f"{value:.{places}f}"
    from decimal import Decimal

    exponent = Decimal(value).adjusted()
    decimals = max(places - 1 - exponent, 0)
    if exponent < -4:
        return f"{value:.{places - 1}e}"
    return f"{round(value, decimals):.{decimals}f}"


def printed_forms(box: dict) -> list[str]:
    """The ways a reader may type the right answer that the page itself uses: the number at the
    precision asked, with thousands separators, a percent sign, a fraction, a typographic minus."""
    from fractions import Fraction

    value = box["answer"]
    plain = rounded_text(value, box["kind"], box["places"])
    forms = [plain]
    if abs(value) >= 1000:
        whole, _, decimals = plain.lstrip("-").partition(".")
        forms.append(("-" if value < 0 else "") + f"{int(whole):,}" + (f".{decimals}" if decimals else ""))
    if box["percent"]:
        forms.append(plain + "%")
    if value < 0:
        forms.append("\u2212" + plain.lstrip("-"))
    fraction = Fraction(value).limit_denominator(200)  # an answer that is a fraction: 1/4, 2/126
    if fraction.denominator > 1 and abs(float(fraction) - value) <= 1e-12 * abs(value):
        forms.append(f"{fraction.numerator}/{fraction.denominator}")
    return forms


def check(p, form, typed: str) -> str:
    form.locator("input").fill(typed)
    form.locator("button").click()
    return form.locator("output").inner_text()


def answer_forms(p):
    return p.locator("form.s6-answer")


@pytest.mark.parametrize("page_path", toc_pages())
def test_every_text_reads_in_both_themes_also_after_checking_answers(browser, site_url, built_site, page_path):
    """Every visible text of the article, in both themes at 1280 and 390 px, contrasts at least 4.5:1
    with what is behind it: also each answer box's message after a right and after a wrong answer,
    and the learning-rate slider's caption after a move. Screenshots of the answered boxes are kept."""
    built_page(built_site, page_path)
    failures = []
    for width in WIDTHS.values():
        for theme in THEMES:
            page = Page(browser, f"{site_url}/{page_path}.html", width=width, theme=theme)
            p = page.page
            try:
                view = f"{width} px, {theme}"
                boxes = answer_boxes(p)
                forms = answer_forms(p)
                for i, box in enumerate(boxes):
                    form = forms.nth(i)
                    for verdict, typed in (("wrong", "123456789"), ("right", printed_forms(box)[0])):
                        said = check(p, form, typed)
                        if not said.strip():
                            failures.append(f"{view}: box {box['label']!r} says nothing after {typed!r}")
                        form.evaluate("f => f.setAttribute('data-measured', '')")
                        failures += [f"{view}: box {box['label']!r} after a {verdict} answer: {problem}"
                                     for problem in poor_contrast(p, "form[data-measured] output")]
                        form.evaluate("f => f.removeAttribute('data-measured')")
                        if i == 0:
                            form.scroll_into_view_if_needed()
                            SHOTS.mkdir(parents=True, exist_ok=True)
                            form.screenshot(
                                path=str(SHOTS / f"{page_name(page_path)}-answer-{verdict}-{width}-{theme}.png"))
                slider = p.locator(".s6-static-lr-slider [role=slider]")
                if slider.count():
                    slider.first.focus()
                    p.keyboard.press("ArrowRight")
                    p.wait_for_timeout(300)
                failures += [f"{view}: {problem}" for problem in poor_contrast(p)]
            finally:
                page.close()
    assert not failures, f"{len(failures)} texts below {MIN_CONTRAST}:1:\n" + "\n".join(sorted(set(failures))[:25])


# TeX or MyST source that a reader should never see as text (outside code and typeset math).
SOURCE_LEFT = [
    (r"\$[^$\n]*\\[A-Za-z]+[^$\n]*\$", "TeX between dollars"),
    ((r"\\(?:frac|tfrac|dfrac|sigma|delta|partial|eta|lambda|cdot|times|left|right|mathrm|text|sqrt|sum"
      r"|quad|alpha|beta|theta|approx|leq|geq|ldots|dots)\b"), "a TeX command"),
    (r"\\[,;!]", "TeX spacing"),
    (r"\{(?:doc|term|ref|numref|cite(?::[pt])?|glue(?::[a-z]+)?|eq|math|download)\}`", "a MyST role"),
]


def open_every_solution_and_drop_down(p) -> None:
    p.evaluate("""() => {
        document.querySelectorAll('details').forEach(d => { d.open = true; });
        document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
    }""")


@pytest.mark.parametrize("page_path", toc_pages())
def test_no_tex_or_myst_source_shows_as_text(browser, site_url, built_site, page_path):
    """With every solution and drop-down open, the rendered text outside code and typeset math holds
    no TeX ($...\\cmd...$, \\frac, \\,) and no MyST role ({doc}`...`, {term}`...`, ...)."""
    built_page(built_site, page_path)
    page = Page(browser, f"{site_url}/{page_path}.html")
    try:
        open_every_solution_and_drop_down(page.page)
        page.page.evaluate("() => window.MathJax?.startup?.promise")
        text = page.text_outside_code()
        found = []
        for pattern, what in SOURCE_LEFT:
            for match in re.finditer(pattern, text):
                found.append(f"{what}: ...{text[max(match.start() - 30, 0):match.end() + 30]!r}...")
        assert not found, f"{len(found)} pieces of source shown as text:\n" + "\n".join(found[:12])
    finally:
        page.close()


@pytest.mark.parametrize("page_path", toc_pages())
def test_a_solution_opens_when_its_title_is_clicked(browser, site_url, built_site, page_path):
    """A click on a hidden solution's title ("Solution to Exercise 1.1 (...)") shows the solution to
    the reader, and leaves the page where it is; Enter on its toggle button closes it again."""
    built_page(built_site, page_path)
    page = Page(browser, f"{site_url}/{page_path}.html", width=390)
    p = page.page
    try:
        solutions = p.locator(".solution.dropdown")
        if not solutions.count():
            pytest.skip("no hidden solutions on this page")
        failures = []
        for i in range(solutions.count()):
            solution = solutions.nth(i)
            title = solution.locator("> .admonition-title")
            body = solution.locator("> :not(.admonition-title)").first
            name = title.inner_text().strip()[:50]
            if body.is_visible():
                failures.append(f"{name!r} is open before it is asked for")
                continue
            url = p.url
            title.evaluate("e => e.scrollIntoView({block: 'center'})")  # room below it for the solution
            # on the exercise's name, which was a link back to the exercise
            title.locator("a.reference").first.click()
            p.wait_for_timeout(150)
            box = body.bounding_box()
            seen = body.is_visible() and box and box["height"] > 5 and p.evaluate(
                "([top, bottom]) => bottom > 0 && top < window.innerHeight", [box["y"], box["y"] + box["height"]])
            if not seen:
                failures.append(f"{name!r}: a click on the title does not show the solution")
            if p.url != url:
                failures.append(f"{name!r}: a click on the title went to {p.url}")
            button = solution.locator("> .admonition-title button.toggle-button")
            button.focus()
            p.keyboard.press("Enter")
            p.wait_for_timeout(150)
            if body.is_visible():
                failures.append(f"{name!r}: Enter on the toggle button does not close it")
        assert not failures, "\n".join(failures)
    finally:
        page.close()


@pytest.mark.parametrize("page_path", toc_pages())
def test_each_answer_box_takes_the_printed_forms_and_names_the_likely_slip(browser, site_url, built_site,
                                                                           page_path):
    """Each answer box states its precision; takes its answer at that precision in every form the
    page prints (4,704; 99.35%; 1/63; −0.888); gives a likely slip the exercise's own hint; and
    answers any other wrong number with the exercise's hint, never a generic "check each factor"."""
    built_page(built_site, page_path)
    page = Page(browser, f"{site_url}/{page_path}.html")
    p = page.page
    try:
        boxes = answer_boxes(p)
        if not boxes:
            pytest.skip("no answer box on this page")
        forms = answer_forms(p)
        failures = []
        for i, box in enumerate(boxes):
            form, name = forms.nth(i), box["label"]
            if box["answer"] is None:
                failures.append(f"{name!r}: the full edition's box carries no answer")
                continue
            if not box["precision"] or box["precision"] not in box["shown"]:
                failures.append(f"{name!r}: the box does not show the precision it asks for")
            for typed in printed_forms(box) + [rounded_text(v, box["kind"], box["places"]) for v in box["accepted"]]:
                said = check(p, form, typed)
                if not said.startswith("Right"):
                    failures.append(f"{name!r} ({box['precision']}): {typed!r} is refused: {said!r}")
            for value, hint, *_ in box["mistakes"]:
                typed = rounded_text(value, box["kind"], box["places"])
                said = check(p, form, typed)
                if not said.startswith("Not yet") or hint not in said:
                    failures.append(f"{name!r}: the likely slip {typed!r} gets {said!r}, not its hint")
            far = rounded_text(box["answer"] * 7 + 3, box["kind"], box["places"])
            said = check(p, form, far)
            if not said.startswith("Not yet") or not box["hint"] or box["hint"] not in said or "each factor" in said:
                failures.append(f"{name!r}: {far!r} gets {said!r}, not the exercise's hint")
        assert not failures, "\n".join(failures)
        assert not page.errors, page.errors
    finally:
        page.close()
