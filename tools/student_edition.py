"""The student edition: the book without its solutions, its answer values or the finished workbook.

    python tools/student_edition.py             # what `make student` runs
    python tools/student_edition.py --no-build  # only the student repository (source/)

It writes, under _build/student/:
- source/: the repository as students get it: every chapter without its solutions (the cells from
  each `solution-start` to its `solution-end`), the pages `_config.yml` lists under
  `student_edition: leave_out` dropped from the table of contents, the title marked, the launch
  buttons and the set-up cells pointing at the branch students open (`--branch`, default
  `student`), and S6_EDITION=student set in each chapter's set-up cell, so that in Colab too the
  answer boxes hold hashes, not answers, and the workbook cell writes the starter workbook;
- html/: that source built as the site (S6_EDITION=student, warnings as errors).

A teacher publishes source/ as the branch students open (see the instructor guide), and html/ as
the site. tests/test_student_edition.py checks that no solution text and no answer value of the
full edition is anywhere in these files.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sync_notebooks  # noqa: E402  (a sibling tool: the set-up cell and the committed form)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "student"
FENCE = re.compile(r"^\s*(`{3,})\s*\{(solution-start|solution-end)\}")
EDITION_LINE = 'os.environ["S6_EDITION"] = "student"  # answer boxes hold hashes; the starter workbook\n'
TITLE_MARK = " (student edition)"


def source_of(cell: dict) -> str:
    return "".join(cell.get("source", []))


def without_solutions(nb: dict, path: Path | str = "notebook") -> dict:
    """The notebook with every gated solution removed: from each `solution-start` directive to its
    `solution-end`, whole cells and the part of a markdown cell between them. A start with no end
    is an error (it would hide the rest of the chapter), and so is an end with no start."""
    cells, inside, closing = [], False, None  # closing: the fence that ends the directive being skipped
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            if not inside:
                cells.append(cell)
            continue
        kept = []
        for line in source_of(cell).splitlines(keepends=True):
            if closing is not None:  # a directive's own options, up to its closing fence
                if line.strip() == closing:
                    closing = None
                continue
            fence = FENCE.match(line)
            if fence and fence.group(2) == "solution-start":
                if inside:
                    raise ValueError(f"{path}: cell {index} starts a solution inside another")
                inside, closing = True, fence.group(1)
            elif fence:
                if not inside:
                    raise ValueError(f"{path}: cell {index} ends a solution that no cell started")
                inside, closing = False, fence.group(1)
            elif not inside:
                kept.append(line)
        if "".join(kept).strip():
            cells.append(dict(cell, source=kept))
    if inside:
        raise ValueError(f"{path}: a solution has no solution-end")
    return dict(nb, cells=cells)


def student_setup_source(url: str, branch: str) -> str:
    """The full edition's set-up cell with the edition set first."""
    lines = sync_notebooks.setup_cell_source(url, branch).splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("import "))
    return "".join(lines[:at + 1] + [EDITION_LINE] + lines[at + 1:])


def student_config(config: dict, branch: str) -> dict:
    config = json.loads(json.dumps(config))
    config["title"] = config["title"] + TITLE_MARK
    config["repository"]["branch"] = branch
    config.pop("student_edition", None)
    return config


def student_toc(toc: dict, leave_out: set[str]) -> dict:
    toc = json.loads(json.dumps(toc))
    for part in toc.get("parts", []):
        part["chapters"] = [c for c in part.get("chapters", []) if c["file"] not in leave_out]
    toc["parts"] = [part for part in toc.get("parts", []) if part["chapters"]]
    return toc


LEFT_OUT_FOLDERS = ("tests/", ".ci/")  # the maintainers' checks: they recompute every answer


def repository_files(root: Path) -> list[str]:
    """What git tracks, and new files it does not ignore (a checkout being edited), less the
    maintainers' checks."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=root,
                            check=True, capture_output=True, text=True).stdout
    return sorted({f for f in listed.split("\0")
                   if f and (root / f).is_file() and not f.startswith(LEFT_OUT_FOLDERS)})


def write_source(root: Path, out: Path, branch: str) -> Path:
    """The student repository, in `out` (replaced)."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    leave_out = set(config.get("student_edition", {}).get("leave_out", []))
    shutil.rmtree(out, ignore_errors=True)
    for name in repository_files(root):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    for name in leave_out:
        for suffix in (".ipynb", ".md"):
            (out / f"{name}{suffix}").unlink(missing_ok=True)
    toc = student_toc(yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8")), leave_out)
    (out / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    config = student_config(config, branch)
    (out / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    setup = student_setup_source(config["repository"]["url"].rstrip("/"), branch)
    for path in sync_notebooks.chapter_notebooks(out / "_toc.yml", out):
        nb = without_solutions(json.loads(path.read_text(encoding="utf-8")), path.relative_to(out))
        path.write_text(sync_notebooks.dump(sync_notebooks.normalized(nb, setup)), encoding="utf-8")
    # The site's own copies of MathJax, the widget manager and the draw page's network (make vendor digit).
    vendor = root / "_build" / "vendor_site"
    if vendor.is_dir():
        shutil.copytree(vendor, out / "_build" / "vendor_site")
    return out


def build(source: Path, html: Path) -> None:
    """Build `source` as `make book` builds the full edition, with S6_EDITION=student."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    env = dict(os.environ, S6_EDITION="student")
    subprocess.run([str(jupyter_book), "build", str(source), "--all", "-W", "--keep-going", "--builder", "html"],
                   cwd=source, env=env, check=True)
    shutil.rmtree(html, ignore_errors=True)
    shutil.move(str(source / "_build" / "html"), html)
    # The rest is the build's workspace: executed notebooks and glue files, which hold every computed
    # number, solutions' included. The student repository is source/ without it.
    shutil.rmtree(source / "_build")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT, help="where source/ and html/ go (default: %(default)s)")
    parser.add_argument("--branch", default="student",
                        help="the branch (of the repository in _config.yml) students open in Colab or Binder")
    parser.add_argument("--no-build", action="store_true", help="write source/ only")
    args = parser.parse_args(argv)
    source = write_source(ROOT, args.out / "source", args.branch)
    print(f"The student repository is at {source}")
    if not args.no_build:
        try:
            build(source, args.out / "html")
        except subprocess.CalledProcessError as err:
            print(f"The student edition's build failed (exit {err.returncode}); its log is above.", file=sys.stderr)
            return 1
        print(f"The student edition's site is at {args.out / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
