"""Keep the chapters' notebooks in their committed form.

Every chapter (.ipynb) is committed without outputs or widget state, and its
first cell is a hidden set-up cell that installs s6lib in Colab or Binder
when it is missing. That cell's source is generated here from the repository
URL in _config.yml, so the URL is written by hand in one place only.

    python tools/sync_notebooks.py          # rewrite notebooks that differ
    python tools/sync_notebooks.py --check  # list them and exit 1 (tests, CI)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SETUP_TAG = "remove-cell"  # myst-nb runs the cell but leaves it off the page


def repository(config_path: Path = ROOT / "_config.yml") -> tuple[str, str]:
    repo = yaml.safe_load(config_path.read_text())["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def setup_cell_source(url: str, branch: str) -> str:
    return (
        "# Set-up for Colab and Binder: install this book's library, s6lib, if it is missing, and name\n"
        "# the repository that a chapter opened alone fetches its run records from.\n"
        "# (Hidden on the website; generated from _config.yml by tools/sync_notebooks.py.)\n"
        "import importlib, importlib.util, os, subprocess, sys\n"
        f'os.environ.setdefault("S6_REPOSITORY", "{url}@{branch}")\n'
        'if importlib.util.find_spec("s6lib") is None:\n'
        "    subprocess.check_call([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\",\n"
        f'                           "s6lib @ git+{url}@{branch}"])\n'
        "    importlib.invalidate_caches()\n"
    )


def chapter_notebooks(toc_path: Path = ROOT / "_toc.yml", root: Path | None = None) -> list[Path]:
    """The .ipynb files the table of contents names, in book order (paths under `root`, by default
    the toc's folder)."""
    root = toc_path.parent if root is None else root
    toc = yaml.safe_load(toc_path.read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return [root / f"{f}.ipynb" for f in files if (root / f"{f}.ipynb").exists()]


def normalized(nb: dict, setup_source: str) -> dict:
    """The committed form of a notebook: set-up cell first, no outputs, no widget state."""
    nb = json.loads(json.dumps(nb))  # deep copy
    setup = {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": [SETUP_TAG]},
        "outputs": [],
        "source": setup_source.splitlines(keepends=True),
    }
    cells = nb["cells"]
    first = cells[0] if cells else None
    if first and first["cell_type"] == "code" and SETUP_TAG in first.get("metadata", {}).get("tags", []):
        setup["id"] = first.get("id", "setup")
        cells[0] = setup
    else:
        setup["id"] = "setup"
        cells.insert(0, setup)
    for cell in cells:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell.get("metadata", {}).pop("execution", None)
    nb["metadata"].pop("widgets", None)
    return nb


def dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report notebooks that differ; exit 1 if any")
    args = parser.parse_args(argv)
    source = setup_cell_source(*repository())
    stale = []
    for path in chapter_notebooks():
        text = path.read_text()
        want = dump(normalized(json.loads(text), source))
        if text != want:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(want)
    verb = "need syncing (run: python tools/sync_notebooks.py)" if args.check else "rewritten"
    for path in stale:
        print(f"{path}: {verb}")
    return 1 if (stale and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
