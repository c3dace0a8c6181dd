"""What the browser tests share: Chromium, the widths and themes a reader uses, a page opened offline
with what it logged, WCAG contrast, and a stroke on the draw page's pad. The fixtures that start the
browser and serve the built site are in conftest.py."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

from conftest import BUILD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
SHOTS = BUILD / "screenshots"
WIDTHS = {"desktop": 1280, "phone": 390}
THEMES = ("light", "dark")
MIN_TEXT_PX = 10  # the smallest figure text a reader should have to read, in CSS pixels, at any width
MIN_CONTRAST = 4.5  # WCAG AA for body text


class Page:
    """One page opened offline, with its console errors, blocked requests and bytes recorded.

    `theme` is the reader's choice as the theme's switch stores it; `throttle` (bits per second)
    emulates a slow line; `hold` names URLs (a glob) whose responses wait until `release()`."""

    def __init__(self, browser, url: str, width: int = 1280, theme: str = "light", touch: bool = False,
                 throttle: float | None = None, hold: str | None = None, wait: bool = True):
        self.context = browser.new_context(viewport={"width": width, "height": 900 if width > 600 else 844},
                                           has_touch=touch, is_mobile=touch)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.external: list[str] = []
        self.held: list = []
        self.hold = hold
        self.bytes: dict[str, int] = {}
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.add_init_script(f"localStorage.setItem('mode', '{theme}'); localStorage.setItem('theme', '{theme}');")
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        urls = {}
        self.cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
        self.cdp.on("Network.loadingFinished",
                    lambda e: self.bytes.__setitem__(urls.get(e["requestId"], e["requestId"]), e["encodedDataLength"]))
        if throttle:
            self.cdp.send("Network.emulateNetworkConditions", {
                "offline": False, "latency": 20, "downloadThroughput": throttle / 8, "uploadThroughput": throttle / 8})
        self.page.route("**/*", self._offline)
        self.page.on("response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"))
        self.page.set_default_timeout(120_000)  # a busy machine: pages still load, only slower
        self.page.goto(url, wait_until="load" if wait else "commit")
        if wait:
            self.settle()

    def settle(self) -> None:
        self.page.wait_for_load_state("networkidle")
        # MathJax 3 typesets asynchronously; wait for it where the page loads it.
        self.page.evaluate("() => window.MathJax?.startup?.promise")
        self.page.evaluate("() => window.s6MarkScrollBoxes?.()")

    def _offline(self, route):
        host = urlparse(route.request.url).hostname
        if host not in ("127.0.0.1", "localhost"):  # the site must not need the network: record and refuse
            self.external.append(route.request.url)
            route.abort()
        elif self.hold and Path(urlparse(route.request.url).path).match(self.hold):
            self.held.append(route)
        else:
            route.continue_()

    def release(self) -> None:
        for route in self.held:
            route.continue_()
        self.held.clear()
        self.hold = None

    def total_bytes(self) -> int:
        return sum(self.bytes.values())

    def close(self) -> None:
        self.context.close()

    def text_outside_code(self) -> str:
        return self.page.evaluate("""() => {
            const main = document.querySelector('main') || document.body;
            const copy = main.cloneNode(true);
            copy.querySelectorAll('pre, code, script, style, mjx-container, mjx-assistive-mml')
                .forEach(e => e.remove());
            return copy.innerText;
        }""")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def page_name(page_path: str) -> str:
    return page_path.replace("/", "__")


def contrast(fg: tuple, bg: tuple) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (0-255)."""
    def luminance(rgb):
        c = [v / 255 for v in rgb[:3]]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    high, low = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def draw_vertical_line(p, touch: bool = False) -> None:
    p.locator(".s6d-pad").scroll_into_view_if_needed()
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
