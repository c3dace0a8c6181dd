"""Every chapter runs top to bottom the way Colab runs it.

A real Colab runtime cannot be reached from here; this stands in for it: each chapter alone in a
folder outside the checkout (no book/runs beside it), Colab's ipywidgets 7.7.1 first on the path,
s6lib installed as a package (a wheel, not this checkout), and the run records served by a local
HTTP server standing in for the repository that the set-up cell names.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT, repository_archive, toc_pages

pytestmark = pytest.mark.slow

# Colab's widget stack (its published pip freeze), pure-Python wheels from PyPI.
COLAB_WIDGETS = ["ipywidgets==7.7.1", "widgetsnbextension==3.6.6", "jupyterlab_widgets==1.1.1",
                 "ipython_genutils==0.2.0"]
CHAPTERS = [page for page in toc_pages() if (ROOT / f"{page}.ipynb").exists()]
PROBE = "import ipywidgets, s6lib\nprint('PROBE', ipywidgets.__version__, s6lib.__file__)"


def pip(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.fixture(scope="module")
def colab(tmp_path_factory, mnist_root):
    """Environment variables for a Colab-like kernel, and the folder the chapters run in."""
    import http.server
    import threading

    base = tmp_path_factory.mktemp("colab")
    pip("install", "--quiet", "--no-deps", "--target", str(base / "widgets7"), *COLAB_WIDGETS)
    source = base / "src"  # s6lib as `pip install git+<repo>` builds it: a wheel from pyproject.toml
    shutil.copytree(ROOT / "s6lib", source / "s6lib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(base / "wheel"), str(source))
    pip("install", "--quiet", "--no-deps", "--target", str(base / "site"), *map(str, (base / "wheel").glob("*.whl")))

    archive = repository_archive({p.relative_to(ROOT).as_posix(): p.read_bytes()
                                  for p in (ROOT / "book" / "runs").rglob("*.json")})

    class Repository(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            found = self.path == "/s6-course/s6-site/archive/refs/heads/main.tar.gz"
            self.send_response(200 if found else 404)
            self.end_headers()
            self.wfile.write(archive if found else b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Repository)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PYTHONPATH": f"{base / 'widgets7'}{os.pathsep}{base / 'site'}",  # before the venv's own packages
        "S6_REPOSITORY": f"http://127.0.0.1:{server.server_port}/s6-course/s6-site@main",  # setdefault keeps it
        "XDG_CACHE_HOME": str(base / "cache"),
        "S6_DATA_DIR": str(mnist_root),
    }
    yield env, base / "content", base / "site"
    server.shutdown()


@pytest.mark.parametrize("page", CHAPTERS)
def test_the_chapter_runs_as_in_colab(colab, page, monkeypatch, tmp_path):
    env, content, site = colab
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the kernel inherits them
    monkeypatch.delenv("S6_RUNS_DIR", raising=False)
    folder = content / Path(page).name
    folder.mkdir(parents=True)
    nb = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    text = "\n".join(output.get("text", "") + json.dumps(output.get("data", {}))
                     for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs)
    probe = next(line for line in nb.cells[-1].outputs[0]["text"].splitlines() if line.startswith("PROBE"))
    assert probe.split()[1] == "7.7.1" and probe.split()[2].startswith(str(site)), probe
    if "locate_runs()" in (ROOT / f"{page}.ipynb").read_text():  # a page built on the run records
        assert "fetched from http://127.0.0.1" in text, f"{page} did not fetch its records"
    if page == "book/backprop/learning_rates":  # the static slider's ipywidgets 7 form, in the widget state
        assert "needs the running kernel" in json.dumps(nb.metadata.get("widgets", {}))
