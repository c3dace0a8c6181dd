"""A small Sphinx extension for this book (loaded by _config.yml's local_extensions).

It mends two console errors that Jupyter Book 1's theme stack puts on every
page (the browser test asserts that pages load without JavaScript errors),
writes the execution table's status in words (myst-nb marks it with emoji,
which a reader without an emoji font sees as missing-glyph boxes), and keeps
pages light: MathJax only on pages with math, and no 1.5 MB Font Awesome
script (the theme's stylesheet already draws every icon from its web fonts).
It also writes the footer of every page from _config.yml: the licence (text
CC BY 4.0, code MIT), the maintainers, and where to read how to cite the book.
"""

import re
import shutil
from pathlib import Path

import yaml
from docutils import nodes

STATUS_WORDS = {"✅": "ran", "❌": "failed"}


def _mend_page_context(app, pagename, templatename, context, doctree):
    # The theme templates write sphinx-thebe's inline config twice; a second
    # `const THEBE_JS_URL` is a SyntaxError, a second `var` is harmless.
    for script in context.get("script_files", []):
        body = getattr(script, "attributes", {}).get("body", "")
        if body.startswith("const THEBE_JS_URL"):
            script.attributes["body"] = body.replace("const ", "var ")
    # pydata-sphinx-theme's layout reads `default_mode`, which sphinx-book-theme
    # never sets; an empty mode logs "Got invalid theme mode".
    context.setdefault("default_mode", "auto")


def _math_only_where_used(app, pagename, templatename, context, doctree):
    # Jupyter Book asks Sphinx to put MathJax on every page that includes one with math (the root
    # page includes them all); a page loads it only when its own text has math.
    if doctree is None or doctree.next_node(lambda n: isinstance(n, (nodes.math, nodes.math_block))):
        return
    mathjax = app.config.mathjax_path
    context["script_files"][:] = [
        js for js in context["script_files"]
        if mathjax not in str(js.filename or "") and not js.attributes.get("body", "").startswith("window.MathJax")]


FONTAWESOME_TAG = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')
# Sphinx's search index and tools: every page loads them, only the search page uses them (the theme's
# search box sends its query there).
SEARCH_SCRIPTS = re.compile(r'\s*<script src="[^"]*(?:searchindex|searchtools|language_data)\.js[^"]*"></script>')
# Markup of the theme stack that axe-core flags: controls named other than by their visible text
# (label-content-name-mismatch), which their visible text then names; and docutils' bibliography, a
# role="list" of role="doc-biblioentry" entries (aria-required-children), made a list of list items.
MENDS = [('<summary aria-label="Toggle hidden content">', "<summary>"),  # myst-nb: "Show code cell source"
         ('title="Search" aria-label="Search"', 'title="Search"'),  # pydata: "Search Ctrl+K"
         ('role="doc-biblioentry"', 'role="listitem"')]
UNUSED = ["_static/scripts/fontawesome.js", "_static/scripts/fontawesome.js.LICENSE.txt", "_static/locales"]
FONTS = "_static/vendor/fontawesome/webfonts"
ICON_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:before,?)+)\{content:"(?:\\([0-9a-f]{4})|(.))"\}')
PRIVATE_USE = re.compile("[\ue000-\uf8ff]|\\\\([ef][0-9a-f]{3})\\b")


def _drop_what_no_page_loads(app, exception):
    """After the build: no page loads Font Awesome's script (the theme's CSS has the icons), the
    theme's source maps (for its developers' debuggers) or its translations (an English book); only
    the search page loads the search index; the icon fonts keep only the icons the site shows."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for page in out.rglob("*.html"):
        html = original = page.read_text(encoding="utf-8")
        html = FONTAWESOME_TAG.sub("", html)
        if page != out / "search.html":
            html = SEARCH_SCRIPTS.sub("", html)
        for old, new in MENDS:
            html = html.replace(old, new)
        if html != original:
            page.write_text(html, encoding="utf-8")
    for path in [out / p for p in UNUSED] + list((out / "_static").rglob("*.map")):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    _subset_icon_fonts(out)


def icons_used(out: Path) -> set[int]:
    """The code points of every Font Awesome icon the built site can show: those of the fa-* classes its
    pages and scripts name, and those its stylesheets use directly (admonition titles, toggles)."""
    by_class, direct = {}, set()
    for css in (out / "_static").rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        for selectors, escaped, char in ICON_RULE.findall(text):
            for name in re.findall(r"\.(fa-[a-z0-9-]+):before", selectors):
                by_class[name] = int(escaped, 16) if escaped else ord(char)
        rest = ICON_RULE.sub("", text)
        direct |= {int(m[1], 16) if m[1] else ord(m[0]) for m in PRIVATE_USE.finditer(rest)}
    named = set()
    for path in list(out.rglob("*.html")) + list((out / "_static").rglob("*.js")):
        named |= set(re.findall(r"\bfa-[a-z0-9-]+", path.read_text(encoding="utf-8", errors="ignore")))
    return direct | {by_class[name] for name in named if name in by_class}


def _subset_icon_fonts(out: Path) -> None:
    # Font Awesome's full fonts are 300 KB of woff2 on every page for the 20-odd icons shown.
    from fontTools import subset

    keep = icons_used(out)
    for font in sorted((out / FONTS).glob("*")) if (out / FONTS).is_dir() else []:
        flavor = {".woff2": "woff2", ".ttf": None}.get(font.suffix, "skip")
        if flavor == "skip":
            continue
        options = subset.Options()
        options.flavor, options.layout_features, options.notdef_outline = flavor, ["*"], True
        loaded = subset.load_font(str(font), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=keep & set(loaded.getBestCmap()))
        subsetter.subset(loaded)
        subset.save_font(loaded, str(font), options)


def _footer(app, config):
    # From _config.yml (the repository URL is written there and only there).
    book = yaml.safe_load((Path(app.srcdir) / "_config.yml").read_text(encoding="utf-8"))
    repo, branch = book["repository"]["url"].rstrip("/"), book["repository"].get("branch", "main")
    people = ", ".join(f'<a href="https://github.com/{m["github"]}">{m["name"]}</a>' if m.get("github") else m["name"]
                       for m in book.get("maintainers", []))
    config.html_theme_options["extra_footer"] = (
        '<p class="s6-footer">Text under <a href="https://creativecommons.org/licenses/by/4.0/" rel="license">CC BY '
        '4.0</a>, code under the <a href="https://opensource.org/license/mit" rel="license">MIT licence</a> '
        f'(<a href="{repo}/blob/{branch}/LICENSE">LICENSE</a>). Maintained by {people}; questions and corrections '
        f'go to the <a href="{repo}/issues">issues</a>. To cite this book: '
        f'<a href="{repo}/blob/{branch}/CITATION.cff">CITATION.cff</a>.</p>')


def _edition_tag(app, config):
    # A chapter may say something only in one edition: {only} blocks test the tag `student`.
    from s6lib.book import edition

    if edition.student():
        app.tags.add("student")


def _status_in_words(app, doctree, docname):
    for text in list(doctree.findall(nodes.Text)):
        if str(text) in STATUS_WORDS:
            text.parent.replace(text, nodes.Text(STATUS_WORDS[str(text)]))


def _add_static(app):
    app.config.html_static_path.append(str(Path(__file__).parent / "web" / "static"))


def setup(app):
    app.connect("builder-inited", _add_static)
    app.connect("config-inited", _footer)
    app.connect("config-inited", _edition_tag)
    app.add_css_file("s6.css")  # the house style: tables, both themes, scroll cues, the draw page
    app.add_js_file("s6.js", defer="defer")  # marks boxes that scroll sideways (see s6.css)
    app.connect("doctree-resolved", _status_in_words)
    # Early: html-page-context stops at the first listener that returns a value.
    app.connect("html-page-context", _mend_page_context, priority=100)
    app.connect("html-page-context", _math_only_where_used, priority=900)  # after sphinx.ext.mathjax
    app.connect("build-finished", _drop_what_no_page_loads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
