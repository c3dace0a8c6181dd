"""Where the run records are, and each planned run with the record it has.

    runs_dir = find_runs_dir()          # book/runs, found from a chapter or the repository root
    runs = load_runs("training", runs_dir)
    [run.status for run in runs]        # "complete", "running (3/15 epochs)", "not run yet", ...
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from . import experiments as ex
from .records import load_record

RUNS_ENV = "S6_RUNS_DIR"  # points the chapters at a runs folder (e.g. a clone's book/runs in Colab)


def find_runs_dir(start: str | Path | None = None) -> Path | None:
    """The runs folder: $S6_RUNS_DIR, else ../runs (a chapter in book/mnist), runs (book/) or
    book/runs (the repository root), looked up from `start` (default: the working directory).
    None when there is none: a notebook opened alone, e.g. in Colab."""
    if os.environ.get(RUNS_ENV):
        path = Path(os.environ[RUNS_ENV]).expanduser()
        return path if path.is_dir() else None
    start = Path(start or ".")
    for candidate in (start / ".." / "runs", start / "runs", start / ex.RUNS_DIR):
        if candidate.is_dir():
            return candidate.resolve()
    return None


@dataclass(frozen=True)
class Run:
    """A planned run and the record it has, if any (the first device class in the preference order)."""

    planned: ex.PlannedRun
    record: dict | None = None
    path: Path | None = None  # the record file

    @property
    def key(self) -> str:
        return self.planned.key

    @property
    def seed(self) -> int:
        return self.planned.seed

    @property
    def device_class(self) -> str | None:
        return ex.device_class(self.record) if self.record else None

    @property
    def complete(self) -> bool:
        return self.record is not None and self.record["status"] == "complete"

    @property
    def status(self) -> str:
        if self.record is None:
            return "not run yet"
        r = self.record
        if r["status"] == "running":
            return f"running ({len(r['epochs'])}/{r['config']['recipe']['epochs']} epochs)"
        return r["status"]


def load_runs(plan: str | Iterable[ex.Experiment], runs_dir: str | Path | None,
              prefer: Sequence[str] = ex.DEVICE_CLASSES) -> list[Run]:
    """Each planned run of `plan` with its record: the first complete one in `prefer`'s device-class
    folders (GPU before CPU by default), else the first incomplete one (running, interrupted,
    diverged). `runs_dir` None: every run is "not run yet".

    A record that does not validate raises RecordError; one whose config is not the planned run's
    is not used (see `stale_records`).
    """
    runs = []
    for planned in ex.planned_runs(plan):
        found = []
        for cls in prefer if runs_dir is not None else ():
            path = Path(runs_dir) / cls / planned.path
            if path.exists():
                record = load_record(path)
                if record["config_fingerprint"] == planned.fingerprint():
                    found.append(Run(planned, record, path))
        runs.append(next((r for r in found if r.complete), found[0] if found else Run(planned)))
    return runs
