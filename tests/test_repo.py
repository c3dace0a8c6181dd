"""The repository's own rules: pinned environment, clean notebooks, installable package."""

import json
import re
import subprocess
import sys
from pathlib import Path


from conftest import ROOT, toc_pages

sys.path.insert(0, str(ROOT / "tools"))
import sync_notebooks  # noqa: E402

REQUIRED_PINS = ["jupyter-book", "myst-nb", "sphinx", "sympy", "ipywidgets", "matplotlib",
                 "numpy", "torch", "torchvision", "pytest"]


def requirements() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-e"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.\-+]+)", line)
        assert match, f"requirements.txt: {line!r} is not an exact pin (name==version)"
        pins[match[1].lower()] = match[2]
    return pins


def test_requirements_are_exact_pins():
    pins = requirements()
    missing = [name for name in REQUIRED_PINS if name not in pins]
    assert not missing, f"requirements.txt lost the pins for {missing}"
    assert pins["jupyter-book"].startswith("1."), "Jupyter Book must stay at 1.x (JB2 cannot read _config.yml)"
    assert (pins["torch"], pins["torchvision"]) == ("2.14.1", "0.29.1")
    assert pins["ipywidgets"].startswith("8.")


def test_layout():
    for path in ["book", "s6lib", "_config.yml", "_toc.yml", "tests", "requirements.txt",
                 "README.md", "pyproject.toml", ".ci/run"]:
        assert (ROOT / path).exists(), f"{path} is missing"


def test_every_toc_page_exists():
    for page in toc_pages():
        found = [p for p in (ROOT / f"{page}.ipynb", ROOT / f"{page}.md") if p.exists()]
        assert found, f"_toc.yml names {page}, but there is no {page}.ipynb or .md"


def test_chapters_are_notebooks_committed_clean_with_setup_cell():
    """No outputs, no widget state, and the generated Colab set-up cell first."""
    chapters = [p for p in toc_pages() if p != "book/intro"]
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


def test_setup_cell_points_at_the_configured_repository():
    url, branch = sync_notebooks.repository()
    source = sync_notebooks.setup_cell_source(url, branch)
    assert f"git+{url}@{branch}" in source
    compile(source, "setup-cell", "exec")  # valid Python, not IPython magic


def test_normalize_strips_outputs_and_state(tmp_path):
    nb = {"cells": [{"cell_type": "code", "execution_count": 3, "metadata": {}, "id": "a",
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}], "source": "1"}],
          "metadata": {"widgets": {"state": {}}}, "nbformat": 4, "nbformat_minor": 5}
    out = sync_notebooks.normalized(nb, "SETUP\n")
    assert out["cells"][0]["source"] == ["SETUP\n"] and out["cells"][0]["metadata"]["tags"] == ["remove-cell"]
    assert out["cells"][1]["outputs"] == [] and out["cells"][1]["execution_count"] is None
    assert "widgets" not in out["metadata"]


def test_package_builds_as_a_wheel(tmp_path):
    """`pip install git+<repo>` (Colab) builds s6lib from pyproject.toml."""
    import shutil
    source = tmp_path / "src"  # a copy, so setuptools' build/ folder stays out of the repository
    shutil.copytree(ROOT / "s6lib", source / "s6lib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "-w", str(tmp_path), str(source)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    wheel = next(Path(tmp_path).glob("s6lib-*.whl"))
    import zipfile
    names = zipfile.ZipFile(wheel).namelist()
    assert "s6lib/__init__.py" in names and not any(n.startswith(("tests/", "book/")) for n in names)
