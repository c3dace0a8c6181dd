"""Grade a folder of submissions without Docker, one CSV row per submission.

    python assignments/grade_all.py AUTOGRADER.zip SUBMISSIONS_FOLDER grades.csv

Each .zip (what the notebook's export cell writes) or .ipynb in the folder is graded by otter's
`otter run` with this Python; the CSV has the submission's file name, its total, the points
possible, each question's score, and the reason where a submission could not be graded (it then
has no score: it is never counted as a zero by mistake). Set S6_DATA_DIR first for small_net.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import sys
import zipfile
from pathlib import Path

SUBMISSION_SUFFIXES = (".zip", ".ipynb")


def grade_folder(autograder: Path, submissions: Path) -> list[dict[str, object]]:
    """One row per submission in `submissions`, in name order: submission, total, possible, each
    question's score, and error (empty, or why the submission could not be graded)."""
    from otter.run import main as otter_run

    rows = []
    for path in sorted(p for p in submissions.iterdir() if p.suffix in SUBMISSION_SUFFIXES):
        row: dict[str, object] = {"submission": path.name}
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # otter prints each notebook's run
                results = otter_run(str(path), autograder=str(autograder), output_dir=None, no_logo=True)
        except (zipfile.BadZipFile, OSError, ValueError, RuntimeError) as error:
            rows.append(row | {"error": f"{type(error).__name__}: {error}"})
            continue
        if results.catastrophic_error is not None:
            rows.append(row | {"error": f"the notebook could not be graded: {results.catastrophic_error}"})
            continue
        row |= {"total": results.total, "possible": results.possible}
        rows.append(row | {name: results.get_score(name) for name in results.test_files} | {"error": ""})
    return rows


def write_csv(rows: list[dict[str, object]], out: Path) -> None:
    columns = ["submission", "total", "possible"]
    questions = dict.fromkeys(key for row in rows for key in row if key not in {*columns, "error"})  # in order
    columns += [*questions, "error"]
    with out.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("autograder", type=Path, help="the autograder zip that `otter assign` wrote")
    parser.add_argument("submissions", type=Path, help="a folder of .zip or .ipynb submissions")
    parser.add_argument("out", type=Path, help="the CSV file to write")
    args = parser.parse_args(argv)
    if not zipfile.is_zipfile(args.autograder):
        parser.error(f"{args.autograder} is not an autograder zip (make assignments writes them)")
    if not args.submissions.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    rows = grade_folder(args.autograder, args.submissions)
    if not rows:
        parser.error(f"{args.submissions} holds no {' or '.join(SUBMISSION_SUFFIXES)} file")
    write_csv(rows, args.out)
    failed = sum(bool(row["error"]) for row in rows)
    print(f"{len(rows)} submissions graded into {args.out}" + (f"; {failed} could not be graded" if failed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
