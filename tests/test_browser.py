"""Open the built pages in a real browser (Debian's headless Chromium) with no network.

Each page must load without JavaScript errors, with its math typeset, its figures
loaded, its widgets rendered and (for chapters) its Colab and Binder links
present. A screenshot of every page is kept in _build/screenshots/.
"""

from __future__ import annotations

import base64
import functools
import http.server
import io
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import BUILD, ROOT, toc_pages

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = BUILD / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.slow
playwright = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements.txt")


@pytest.fixture(scope="module")
def site_url(built_site):
    """Serve the built site on localhost, as a static host would."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (Debian: apt-get install chromium)", pytrace=False)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Page:
    """One page opened offline, with its console errors and blocked requests recorded."""

    def __init__(self, browser, url: str):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.external: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._offline)
        self.page.goto(url, wait_until="load")
        self.page.wait_for_load_state("networkidle")
        # MathJax 3 typesets asynchronously; wait for it where the page loads it.
        self.page.evaluate("() => window.MathJax?.startup?.promise")

    def _offline(self, route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:  # the site must not need the network: record and refuse
            self.external.append(route.request.url)
            route.abort()

    def text_outside_code(self) -> str:
        return self.page.evaluate("""() => {
            const main = document.querySelector('main') || document.body;
            const copy = main.cloneNode(true);
            copy.querySelectorAll('pre, code, script, style, mjx-container, mjx-assistive-mml')
                .forEach(e => e.remove());
            return copy.innerText;
        }""")


@pytest.mark.parametrize("page_path", toc_pages())
def test_page_in_browser(browser, site_url, page_path):
    page = Page(browser, f"{site_url}/{page_path}.html")
    p = page.page
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        assert not page.errors, f"JavaScript errors: {page.errors}"
        needed = [u for u in page.external if not u.startswith(("https://colab", "https://mybinder"))]
        assert not needed, f"the page asked the network for {needed}"

        # Math: every math node typeset by MathJax, and no raw TeX delimiters left in the text.
        math_nodes = p.locator("span.math, div.math").count()
        typeset = p.locator("span.math mjx-container, div.math mjx-container").count()
        assert typeset == math_nodes, f"{math_nodes - typeset} of {math_nodes} math elements not typeset"
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

        # What a reader sees: nothing wider than the column, no table noise, every section in the
        # right-hand contents, no work queue, figures whose smallest text is readable.
        overflow = p.evaluate(OVERFLOWING)
        assert not overflow, f"wider than the content column (and not in a .s6-scroll box): {overflow}"
        noise = p.evaluate(TABLE_NOISE)
        assert not noise, f"tables show missing values as words: {noise}"
        headings, toc = p.evaluate(HEADINGS_AND_TOC)
        missing = [h for h in headings if h not in toc]
        assert not missing, f"sections missing from the right-hand contents: {missing}"
        if page_path != "book/status":
            text = p.evaluate("() => document.querySelector('article').innerText")
            queue = [w for w in ("python -m s6lib sweep", "still need", "Runs still to do", ".json") if w in text]
            assert not queue, f"a reader's page lists work still to do ({queue}); that belongs on the Status page"
        small = [f"{src[-40:]}: {px:.1f} px" for src, px in figure_text_px(p) if px < MIN_TEXT_PX]
        assert not small, f"figure text smaller than {MIN_TEXT_PX} CSS px at 1280 px wide: {small}"

        # Launch buttons on every chapter.
        if (ROOT / f"{page_path}.ipynb").exists():
            for host in ("colab.research.google.com/github/", "mybinder.org/v2/gh/"):
                link = p.locator(f'a[href*="{host}"][href*="{page_path}.ipynb"]')
                assert link.count() >= 1, f"no launch link to {host}... for {page_path}.ipynb"
    finally:
        name = page_path.replace("/", "__")
        p.screenshot(path=str(SHOTS / f"{name}-1280.png"), full_page=True)
        p.set_viewport_size({"width": 390, "height": 844})  # a phone
        p.wait_for_timeout(300)
        p.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)
        p.close()


MIN_TEXT_PX = 10  # the smallest figure text a reader should have to read, in CSS pixels

# Elements of the article that stick out of the content column or overflow their own box
# (a code line too long, a table too wide), except inside a deliberate scroll box.
OVERFLOWING = r"""() => {
    const article = document.querySelector('article');
    const right = article.getBoundingClientRect().right;
    const found = [];
    for (const el of article.querySelectorAll('pre, table, img, .cell_output > div, mjx-container[display]')) {
        if (el.closest('.s6-scroll') || !el.checkVisibility()) continue;  // folded away, or scrolls on purpose
        const box = el.getBoundingClientRect();
        const hidden = ['PRE', 'MJX-CONTAINER'].includes(el.tagName) && el.scrollWidth > el.clientWidth + 1;
        if (box.right > right + 1 || hidden) {
            found.push(el.tagName.toLowerCase() + ': ' + el.innerText.trim().slice(0, 60).replace(/\s+/g, ' '));
        }
    }
    return found.slice(0, 8);
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
    the figure's PNG records (s6lib.style), scaled by how wide the browser draws the image."""
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


# --- the draw-a-digit page -------------------------------------------------------------------------


def _model_probs(inputs):
    """PyTorch's probabilities for the 28×28 inputs the page fed its model (same checkpoint)."""
    import torch

    from s6lib.train import load_checkpoint

    model, _ = load_checkpoint(ROOT / "book" / "model" / "fast-s1.pt")
    with torch.no_grad():
        return model(torch.tensor(inputs, dtype=torch.float32).view(-1, 1, 28, 28)).exp().numpy()


def _draw_vertical_line(p, touch: bool) -> None:
    box = p.locator(".s6d-pad").bounding_box()
    x, top, bottom = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.15, box["y"] + box["height"] * 0.85
    points = [(x, top + (bottom - top) * k / 20) for k in range(21)]
    if touch:  # real touch events, as a phone sends them
        cdp = p.context.new_cdp_session(p)
        kinds = ["touchStart"] + ["touchMove"] * (len(points) - 2) + ["touchEnd"]
        for kind, (px, py) in zip(kinds, points):
            cdp.send("Input.dispatchTouchEvent",
                     {"type": kind, "touchPoints": [] if kind == "touchEnd" else [{"x": px, "y": py}]})
    else:
        p.mouse.move(*points[0])
        p.mouse.down()
        for point in points[1:]:
            p.mouse.move(*point)
        p.mouse.up()


def test_draw_a_digit_adds_less_than_15_mb(built_site):
    added = [*(built_site / "vendor" / "ort").iterdir(), *(built_site / "draw").glob("*.*"),
             built_site / "vendor" / "draw.js"]
    size = sum(p.stat().st_size for p in added)
    print(f"\ndraw page: model, samples, script and runtime add {size / 1e6:.2f} MB to the site")
    assert size < 15e6


def test_draw_a_digit(browser, site_url, mnist_root):
    import numpy as np

    from s6lib.data import mnist_tensors

    page = Page(browser, f"{site_url}/book/mnist/draw.html")
    p = page.page
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        p.evaluate("() => window.s6draw.ready")
        first = p.evaluate("() => window.s6draw.timing.firstPredictionMs")
        print(f"\ndraw page: first prediction {first:.0f} ms after the page started loading")

        # (a) MNIST test digits put into the canvas: the page's probabilities are PyTorch's for its input
        images, labels = mnist_tensors(False, mnist_root, limit=20)
        shown = [p.evaluate("(px) => window.s6draw.loadPixels(px)", image.flatten().tolist()) for image in images]
        ours = _model_probs([s["input"] for s in shown])
        theirs = np.array([s["probs"] for s in shown])
        assert np.abs(ours - theirs).max() < 1e-4
        assert [s["prediction"] for s in shown] == ours.argmax(1).tolist()
        assert sum(s["prediction"] == int(y) for s, y in zip(shown, labels)) >= 18  # it does read digits

        # (b) a vertical stroke drawn with the mouse is a 1
        p.locator(".s6d-button").click()
        _draw_vertical_line(p, touch=False)
        assert p.evaluate("() => window.s6draw.settled()")["prediction"] == 1
        p.screenshot(path=str(SHOTS / "draw-after-drawing-1280.png"), full_page=True)

        # (c) no console errors on the way
        assert not page.errors, page.errors
    finally:
        p.close()

    # (d) a phone: 390 px wide, drawn with touch events
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    phone = context.new_page()
    errors = []
    phone.on("pageerror", lambda e: errors.append(str(e)))
    phone.on("console", lambda m: m.type == "error" and errors.append(m.text))
    try:
        phone.goto(f"{site_url}/book/mnist/draw.html", wait_until="load")
        phone.evaluate("() => window.s6draw.ready")
        phone.locator(".s6d-pad").scroll_into_view_if_needed()
        phone.locator(".s6d-button").tap()
        _draw_vertical_line(phone, touch=True)
        assert phone.evaluate("() => window.s6draw.settled()")["prediction"] == 1
        assert phone.evaluate("() => document.querySelector('.s6d-pad').getBoundingClientRect().right") <= 390
        phone.screenshot(path=str(SHOTS / "draw-after-drawing-390.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()
