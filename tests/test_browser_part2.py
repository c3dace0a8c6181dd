"""The ablations chapter as a reader meets it in Chromium: opening with what to keep, its write-ups and
its statistical detail collapsed, and the statistics it rests on stated on the page (the detail in a
collapsed note still counts)."""

from __future__ import annotations

import pytest

from test_browser import Page, browser, site_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

PAGE = "book/mnist/ablations"


def test_the_ablations_page_opens_with_what_to_keep_and_states_its_statistics(browser, site_url):  # noqa: F811
    page = Page(browser, f"{site_url}/{PAGE}.html", width=1280)
    p = page.page
    try:
        sections = p.evaluate("() => [...document.querySelectorAll('article section > h2')].map(h => h.innerText)")
        assert sections and "What to keep" in sections[0], f"the page opens with {sections[:1]}, not its summary"
        first = p.evaluate("() => document.querySelector('article section > h2').getBoundingClientRect().top")
        assert first < 1_200, f"the summary starts {first:.0f} px down the page"
        closed = p.evaluate("() => [...document.querySelectorAll('details.sd-dropdown')].filter(d => !d.open).length")
        assert closed >= 5, f"the write-ups and the statistics note should be collapsed: {closed} closed drop-downs"
        text = p.evaluate("() => document.querySelector('article').textContent")
        for words in ("95% interval", "Holm", "permutation test", "comparisons"):
            assert words in text, f"the page does not state {words!r}"
    finally:
        page.close()
