"""The ablations chapter as a reader meets it in Chromium: short enough to finish (at most 9,400 px tall
at 1280 px, half what it was), opening with its summary, its write-ups collapsed, and the statistics it
rests on stated on the page."""

from __future__ import annotations

import pytest

from test_browser import Page, browser, site_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

PAGE = "book/mnist/ablations"
MAX_HEIGHT = 9_400  # CSS px at 1280 px wide: half the page's 18,775 before it was rewritten


def test_the_ablations_page_is_short_opens_with_its_summary_and_states_its_statistics(browser, site_url):  # noqa: F811
    page = Page(browser, f"{site_url}/{PAGE}.html", width=1280)
    p = page.page
    try:
        p.evaluate("""async () => {  // lazy images load as a reader scrolls: scroll through once
            for (let y = 0; y < document.body.scrollHeight; y += 600) {
                window.scrollTo(0, y); await new Promise(r => setTimeout(r, 20)); }
            window.scrollTo(0, 0);
            await Promise.all([...document.images].map(i => i.complete ? 1 :
                new Promise(r => { i.onload = i.onerror = r; })));
        }""")
        height = p.evaluate("document.documentElement.scrollHeight")
        print(f"\n{PAGE}: {height:,} px tall at 1280 px")
        assert height <= MAX_HEIGHT, f"the ablations page is {height:,} px tall at 1280 px (at most {MAX_HEIGHT:,})"
        sections = p.evaluate("() => [...document.querySelectorAll('article section > h2')].map(h => h.innerText)")
        assert sections and "What to keep" in sections[0], f"the page opens with {sections[:1]}, not its summary"
        first = p.evaluate("() => document.querySelector('article section > h2').getBoundingClientRect().top")
        assert first < 1_200, f"the summary starts {first:.0f} px down the page"
        closed = p.evaluate("() => [...document.querySelectorAll('details.sd-dropdown')].filter(d => !d.open).length")
        assert closed >= 4, f"the write-ups should be collapsed: {closed} closed drop-downs"
        text = p.evaluate("() => document.querySelector('article').innerText")
        for words in ("95% interval", "Holm", "permutation test", "comparisons"):
            assert words in text, f"the page does not state {words!r}"
    finally:
        page.close()
