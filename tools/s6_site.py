"""A small Sphinx extension for this book (loaded by _config.yml's local_extensions).

It mends two console errors that Jupyter Book 1's theme stack puts on every
page (the browser test asserts that pages load without JavaScript errors), and
writes the execution table's status in words: myst-nb marks it with emoji,
which a reader without an emoji font sees as missing-glyph boxes.
"""

from pathlib import Path

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


def _status_in_words(app, doctree, docname):
    for text in list(doctree.findall(nodes.Text)):
        if str(text) in STATUS_WORDS:
            text.parent.replace(text, nodes.Text(STATUS_WORDS[str(text)]))


def _add_static(app):
    app.config.html_static_path.append(str(Path(__file__).parent / "web" / "static"))


def setup(app):
    app.connect("builder-inited", _add_static)
    app.add_css_file("s6.css")  # the house style of s6lib.style's tables
    app.connect("doctree-resolved", _status_in_words)
    # Early: html-page-context stops at the first listener that returns a value.
    app.connect("html-page-context", _mend_page_context, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
