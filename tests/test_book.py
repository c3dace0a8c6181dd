"""The book builds with -W from the TOC alone, and a failing cell fails the build."""

import shutil

import pytest

from conftest import BUILD, ROOT, build_book, toc_pages

pytestmark = pytest.mark.slow


def test_book_builds_every_toc_page(built_site):
    for page in toc_pages():
        assert (built_site / f"{page}.html").exists(), f"{page} was not built"
    log = (BUILD / "build.log")
    if log.exists() and log.stat().st_mtime >= (built_site / "index.html").stat().st_mtime:  # this build's log
        text = log.read_text()
        for page in toc_pages():
            if (ROOT / f"{page}.ipynb").exists():
                assert f"{page}.ipynb: Executed notebook" in text, f"{page} was not executed"


def test_only_toc_files_are_pages(built_site):
    built = {p.relative_to(built_site).with_suffix("").as_posix() for p in built_site.rglob("*.html")
             if not p.relative_to(built_site).parts[0].startswith(("_static", "vendor"))}  # theme/vendored assets
    pages = built - {"index", "genindex", "search"}
    assert pages == set(toc_pages()), f"pages outside the TOC were built: {sorted(pages - set(toc_pages()))}"


def test_a_failing_cell_fails_the_build(tmp_path):
    """Same _config.yml, one chapter whose cell raises: the build must fail and say why."""
    book = tmp_path / "book"
    book.mkdir()
    shutil.copy(ROOT / "_config.yml", book / "_config.yml")
    shutil.copytree(ROOT / "tools", book / "tools", ignore=shutil.ignore_patterns("web"))
    (book / "_build" / "vendor_site").mkdir(parents=True)  # html_extra_path must exist
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: broken\n")
    (book / "intro.md").write_text("# Intro\n")
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Broken"),
                nbformat.v4.new_code_cell("raise RuntimeError('deliberately failing cell')")]
    nbformat.write(nb, book / "broken.ipynb")
    result = build_book(book)
    output = result.stdout + result.stderr
    assert result.returncode != 0, "a chapter with a failing cell built successfully"
    assert "deliberately failing cell" in output or "CellExecutionError" in output, output[-3000:]
