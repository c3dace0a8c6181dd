"""The book's budgets, reported, not enforced: a teacher's edit or a fork's records must not turn the
tests red, but a maintainer should see when a module or a page has grown past what its readers take in.

    python tools/budgets.py            # module lengths; page heights if _build/html exists

Prints one line per item with its budget and "over" where it is exceeded; always exits 0.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE_LINES = 600  # a module a reader can take in at one sitting
PAGE_HEIGHT_PX = 20_000  # CSS px at 1280 px wide: a chapter read in one session, solutions closed


def module_lengths(root: Path = ROOT) -> list[tuple[str, int]]:
    return sorted(((str(p.relative_to(root)), len(p.read_text(encoding="utf-8").splitlines()))
                   for p in (root / "s6lib").rglob("*.py")), key=lambda item: -item[1])


def page_heights(site: Path) -> list[tuple[str, int]]:
    """(page, height in CSS px at 1280 px) of every built chapter, with Chromium."""
    from playwright.sync_api import sync_playwright

    pages = sorted(p for p in site.rglob("*.html") if "book/" in str(p.relative_to(site)))
    out = []
    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        for path in pages:
            page = context.new_page()
            page.goto(path.as_uri(), wait_until="load")
            out.append((str(path.relative_to(site)), page.evaluate("document.body.scrollHeight")))
            page.close()
        browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html",
                        help="a built site (default: %(default)s)")
    args = parser.parse_args(argv)
    print(f"s6lib modules (budget {MODULE_LINES} lines):")
    for name, lines in module_lengths():
        print(f"  {name:<40} {lines:>5} lines{'  over' if lines > MODULE_LINES else ''}")
    if not (args.site / "index.html").exists():
        print(f"No built site at {args.site}: `make book` first for page heights.")
        return 0
    try:
        heights = page_heights(args.site)
    except Exception as err:  # a report: say what is missing rather than stop
        print(f"Page heights need Playwright and Chromium ({err}).")
        return 0
    print(f"Pages (budget {PAGE_HEIGHT_PX:,} px tall at 1280 px, solutions closed):")
    for name, height in heights:
        print(f"  {name:<40} {height:>7,} px{'  over' if height > PAGE_HEIGHT_PX else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
