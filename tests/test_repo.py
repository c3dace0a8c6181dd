"""The repository's own rules: pinned environment, clean notebooks, installable package (s6lib's own
shape is tests/test_package.py's)."""

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, toc_pages

sys.path.insert(0, str(ROOT / "tools"))
import sync_notebooks  # noqa: E402

REQUIRED_PINS = ["jupyter-book", "myst-nb", "sphinx", "sympy", "ipywidgets", "matplotlib",
                 "numpy", "torch", "torchvision", "pytest"]


def requirements(path: str = "requirements.txt") -> dict[str, str]:
    pins = {}
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith(("-e", "--")):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.\-+]+)", line)
        assert match, f"{path}: {line!r} is not an exact pin (name==version)"
        pins[match[1].lower()] = match[2]
    return pins


TEST_ONLY = {"pytest", "formulas", "playwright", "check-jsonschema", "ruff"}  # requirements.txt's test tools
CPU_BUILDS = {"torch", "torchvision"}  # Binder takes these from PyTorch's CPU wheel index


def test_binder_pins_the_books_versions_with_cpu_only_torch():
    """repo2docker reads only binder/ when it exists: the book's pins, CPU builds of torch."""
    book, binder = requirements(), requirements("binder/requirements.txt")
    assert set(binder) == set(book) - TEST_ONLY, f"differ: {sorted(set(binder) ^ (set(book) - TEST_ONLY))}"
    for name, version in binder.items():
        assert version == book[name] + ("+cpu" if name in CPU_BUILDS else ""), f"binder/requirements.txt: {name}"
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in (ROOT / "binder/requirements.txt").read_text()
    post_build = ROOT / "binder" / "postBuild"
    assert post_build.stat().st_mode & 0o111 and "pip install --no-deps -e ." in post_build.read_text()


def test_requirements_are_exact_pins():
    pins = requirements()
    missing = [name for name in REQUIRED_PINS if name not in pins]
    assert not missing, f"requirements.txt lost the pins for {missing}"
    assert pins["jupyter-book"].startswith("1."), "Jupyter Book must stay at 1.x (JB2 cannot read _config.yml)"


def test_layout():
    for path in ["book", "s6lib", "_config.yml", "_toc.yml", "tests", "requirements.txt",
                 "README.md", "pyproject.toml", ".ci/run"]:
        assert (ROOT / path).exists(), f"{path} is missing"


def test_every_toc_page_exists():
    for page in toc_pages():
        found = [p for p in (ROOT / f"{page}.ipynb", ROOT / f"{page}.md") if p.exists()]
        assert found, f"_toc.yml names {page}, but there is no {page}.ipynb or .md"


MARKDOWN_PAGES = ("book/intro", "book/glossary", "book/references")  # pages with no code to run


def test_chapters_are_notebooks_committed_clean_with_setup_cell():
    """No outputs, no widget state, and the generated Colab set-up cell first."""
    chapters = [p for p in toc_pages() if p not in MARKDOWN_PAGES]
    assert all((ROOT / f"{p}.ipynb").exists() for p in chapters), "every chapter is an .ipynb"
    source = sync_notebooks.setup_cell_source(*sync_notebooks.repository())
    for page in chapters:
        nb = json.loads((ROOT / f"{page}.ipynb").read_text())
        assert "widgets" not in nb["metadata"], f"{page}: widget state is committed"
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell["outputs"] and cell["execution_count"] is None, f"{page}: outputs are committed"
        first = nb["cells"][0]
        assert "".join(first["source"]) == source and "remove-cell" in first["metadata"]["tags"], (
            f"{page}: the first cell is not the current set-up cell; run python tools/sync_notebooks.py")
    assert sync_notebooks.main(["--check"]) == 0


CODE_COLUMNS = 75  # characters of code that fit the page's content column at 1280 px


def test_code_lines_fit_the_column():
    """A reader sees every code line whole (the browser test checks the rendered page too)."""
    long = []
    for page in toc_pages():
        path = ROOT / f"{page}.ipynb"
        if not path.exists():
            continue
        for number, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] != "code" or "remove-cell" in cell["metadata"].get("tags", []):
                continue
            long += [f"{page} cell {number}: {line!r}" for line in "".join(cell["source"]).splitlines()
                     if len(line) > CODE_COLUMNS]
    assert not long, f"code lines longer than {CODE_COLUMNS} characters:\n" + "\n".join(long)


def test_setup_cell_points_at_the_configured_repository():
    url, branch = sync_notebooks.repository()
    source = sync_notebooks.setup_cell_source(url, branch)
    assert f"git+{url}@{branch}" in source
    assert f'os.environ.setdefault("S6_REPOSITORY", "{url}@{branch}")' in source  # where records come from
    compile(source, "setup-cell", "exec")  # valid Python, not IPython magic


def test_normalize_strips_outputs_and_state(tmp_path):
    nb = {"cells": [{"cell_type": "code", "execution_count": 3, "metadata": {}, "id": "a",
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}], "source": "1"}],
          "metadata": {"widgets": {"state": {}}}, "nbformat": 4, "nbformat_minor": 5}
    out = sync_notebooks.normalized(nb, "SETUP\n")
    assert out["cells"][0]["source"] == ["SETUP\n"] and out["cells"][0]["metadata"]["tags"] == ["remove-cell"]
    assert out["cells"][1]["outputs"] == [] and out["cells"][1]["execution_count"] is None
    assert "widgets" not in out["metadata"]


@pytest.mark.slow
def test_package_builds_as_a_wheel(tmp_path):
    """`pip install git+<repo>` (Colab) builds s6lib from pyproject.toml."""
    source = tmp_path / "src"  # a copy, so setuptools' build/ folder stays out of the repository
    shutil.copytree(ROOT / "s6lib", source / "s6lib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "-w", str(tmp_path), str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(Path(tmp_path).glob("s6lib-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "s6lib").rglob("*.py")}
    assert "s6lib/lab/records.py" in modules and not modules - set(names), f"not in the wheel: {modules - set(names)}"
    assert not any(n.startswith(("tests/", "book/")) for n in names)
