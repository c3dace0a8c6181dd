"""Where the run records are, and each planned run with the record it has.

    where = locate_runs()               # book/runs of this checkout, or fetched from the repository
    where.source                        # a sentence: where the records came from (or why there are none)
    runs = load_runs("training", where.path)
    [run.status for run in runs]        # "complete", "running (3/15 epochs)", "not run yet", ...

A chapter opened alone (in Colab, say) has no book/runs beside it. Its set-up
cell names the book's repository in $S6_REPOSITORY ("<url>@<branch>", written
from _config.yml by tools/sync_notebooks.py); the records are then fetched from
that repository as one archive, only book/runs/ kept, every record validated,
and cached, so the next chapter needs no network.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence

from . import experiments as ex
from .data import cache_root
from .records import RecordError, load_record

RUNS_ENV = "S6_RUNS_DIR"  # points the chapters at a runs folder (e.g. a clone's book/runs)
REPOSITORY_ENV = "S6_REPOSITORY"  # "<url>@<branch>": where a chapter opened alone fetches the records
FRESH_SECONDS = 24 * 3600  # a fetched copy younger than this is used without asking the network again
MAX_ARCHIVE_BYTES = 200 * 2**20  # the repository archive; far above what the book's records need


@dataclass(frozen=True)
class RunsFolder:
    path: Path | None  # the runs folder (with gpu/ and cpu/ in it), None when there are no records
    source: str  # a sentence for the page: where the records came from, or what is missing and how to get it


def locate_runs(start: str | Path | None = None) -> RunsFolder:
    """The runs folder: $S6_RUNS_DIR; else ../runs (a chapter in book/mnist), runs (book/) or book/runs
    (the repository root), looked up from `start` (default: the working directory); else the records
    fetched from $S6_REPOSITORY (cached). Never raises: when there are none, `source` says why."""
    if os.environ.get(RUNS_ENV):
        path = Path(os.environ[RUNS_ENV]).expanduser()
        if path.is_dir():
            return RunsFolder(path, f"Run records from {path} (${RUNS_ENV}).")
        return RunsFolder(None, f"${RUNS_ENV} names {path}, which is not a folder: set it to a copy of the book's "
                                "book/runs, or unset it.")
    start = Path(start or ".")
    for candidate in (start / ".." / "runs", start / "runs", start / ex.RUNS_DIR):
        if candidate.is_dir():
            return RunsFolder(candidate.resolve(), "Run records from this copy of the book (book/runs).")
    repository = os.environ.get(REPOSITORY_ENV)
    if not repository:
        return RunsFolder(None, f"No run records here: this notebook found no book/runs beside it, and "
                                f"${REPOSITORY_ENV} (which its first cell sets) names no repository to fetch "
                                f"them from. Run the first cell, or clone the book's repository and set "
                                f"${RUNS_ENV} to its book/runs.")
    return fetch_runs(repository)


def find_runs_dir(start: str | Path | None = None) -> Path | None:
    """`locate_runs(start).path`."""
    return locate_runs(start).path


def archive_url(repository: str) -> str:
    """The archive of a branch, as GitHub (and the test's stand-in) serves it: <url>/archive/refs/heads/<branch>.tar.gz."""
    url, _, branch = repository.rpartition("@")
    if not url or not branch:
        raise ValueError(f"${REPOSITORY_ENV}={repository!r}: expected <url>@<branch>")
    return f"{url.rstrip('/')}/archive/refs/heads/{branch}.tar.gz"


def cache_dir(repository: str) -> Path:
    """Where the records fetched from `repository` are kept: beside MNIST's cache."""
    safe = "".join(c if c.isalnum() or c in "-." else "_" for c in repository.split("://")[-1])
    return cache_root().parent / "runs" / safe


def fetch_runs(repository: str, timeout: float = 30.0) -> RunsFolder:
    """The book's run records from `repository` ("<url>@<branch>"): downloaded as one archive, only
    book/runs/*.json kept, every run record validated, cached. Offline, an older cached copy is used
    if there is one; otherwise `path` is None and `source` says what is missing and how to get it."""
    try:
        url = archive_url(repository)
    except ValueError as err:
        return RunsFolder(None, f"{err}.")
    cache = cache_dir(repository)
    runs, stamp = cache / "runs", cache / "fetched_utc"
    if stamp.exists() and time.time() - stamp.stat().st_mtime < FRESH_SECONDS:
        return RunsFolder(runs, _fetched_text(url, stamp, runs))
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read(MAX_ARCHIVE_BYTES + 1)
        if len(data) > MAX_ARCHIVE_BYTES:
            raise ValueError(f"the archive is larger than {MAX_ARCHIVE_BYTES // 2**20} MB")
        _unpack_runs(data, cache)
    except (OSError, ValueError, tarfile.TarError, RecordError) as err:  # URLError and timeouts are OSErrors
        why = " ".join(str(getattr(err, "reason", err)).split())[:300] or type(err).__name__
        if stamp.exists():
            return RunsFolder(runs, _fetched_text(url, stamp, runs) + f" (A newer copy could not be fetched: {why}.)")
        return RunsFolder(None, f"No run records here: this notebook has no book/runs beside it, and fetching them "
                                f"from {url} failed ({why}). With a network, run this cell again; or clone the "
                                f"book's repository and set ${RUNS_ENV} to its book/runs.")
    return RunsFolder(runs, _fetched_text(url, stamp, runs))


def _fetched_text(url: str, stamp: Path, runs: Path) -> str:
    count = sum(1 for _ in runs.rglob("*.json"))
    return (f"Run records fetched from {url} on {stamp.read_text().strip()} ({count} files, each validated), "
            f"cached in {runs}.")


def _unpack_runs(data: bytes, cache: Path) -> None:
    """Keep <top>/book/runs/**.json of a repository archive; validate the run records; replace the cache
    atomically (a failed fetch leaves the previous copy as it was)."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache.parent, prefix=f".{cache.name}."))
    try:
        kept = 0
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive.getmembers():
                parts = PurePosixPath(member.name).parts
                if not (member.isfile() and len(parts) > 4 and parts[1:3] == ("book", "runs")
                        and parts[-1].endswith(".json") and ".." not in parts):
                    continue
                dest = staging / "runs" / Path(*parts[3:])
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(archive.extractfile(member).read())
                kept += 1
        if not kept:
            raise ValueError("the archive holds no book/runs/ records")
        for cls in ex.DEVICE_CLASSES:
            for path in (staging / "runs" / cls).glob("*.json"):
                load_record(path)  # raises RecordError naming the file and field
        (staging / "fetched_utc").write_text(datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") + "\n")
        old = cache.with_name(cache.name + ".old")
        if cache.exists():
            cache.rename(old)
        staging.rename(cache)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
