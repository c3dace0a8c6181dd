"""Where the run records are, and each planned run with the record it has.

    where = locate_runs()               # book/runs of this checkout, or fetched from the repository
    where.source                        # a sentence: where the records came from (or why there are none)
    runs = load_runs("training", where.path)
    [run.status for run in runs]        # "complete", "running (3/15 epochs)", "not run yet", ...

A chapter opened alone (in Colab, say) has no book/runs beside it. Its set-up
cell names the book's repository in $S6_REPOSITORY ("<url>@<branch>", written
from _config.yml by tools/sync_notebooks.py); the records are then fetched from
that repository as one archive, only book/runs/ kept, every record validated,
and cached, so the next chapter needs no network. The download is bounded (a
deadline, its size, the files kept and each file's size), so a bad or hostile
server cannot fill the memory or the disk, nor keep a chapter waiting.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import time
import urllib.request
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Iterable, Sequence

from . import experiments as ex
from .records import RecordError, RecordInUse, WriteLock, load_any_record, load_record

BOOK_CONFIG = "_config.yml"  # marks a checkout's root: its book/runs are the book's records
RUNS_ENV = "S6_RUNS_DIR"  # points the chapters at a runs folder (e.g. a clone's book/runs)
REPOSITORY_ENV = "S6_REPOSITORY"  # "<url>@<branch>": where a chapter opened alone fetches the records
FRESH_SECONDS = 24 * 3600  # a fetched copy younger than this is used without asking the network again
MAX_ARCHIVE_BYTES = 200 * 2**20  # the repository archive as downloaded; far above what the book's records need
MAX_RECORD_BYTES = 2**20  # one file kept: a run record is a few hundred KB at most (the largest now ~100 KB)
MAX_RECORDS = 2000  # files kept from book/runs/: several times the plans' runs on both device classes
CHUNK = 64 * 2**10


@dataclass(frozen=True)
class RunsFolder:
    path: Path | None  # the runs folder (with gpu/ and cpu/ in it), None when there are no records
    source: str  # a sentence for the page: where the records came from, or what is missing and how to get it
    fetched: bool = False  # the records came from $S6_REPOSITORY, not from this copy of the book

    @property
    def worth_saying(self) -> bool:
        """Whether a page should say where its records came from: they were fetched (a chapter opened
        alone, as in Colab), or there are none. A page in its own book says nothing."""
        return self.fetched or self.path is None


def locate_runs(start: str | Path | None = None) -> RunsFolder:
    """The runs folder: $S6_RUNS_DIR; else the book's records in the checkout that `start` (default:
    the working directory) is in: book/runs beside _config.yml, looked up from the root, from book/
    or from a chapter's folder (book/mnist); else the records fetched from $S6_REPOSITORY (cached).
    A runs/ folder anywhere else (one a student's `train` or `sweep` made) is never taken for the
    book's, so training in a chapter's folder does not hide them. Never raises: when there are
    none, `source` says why."""
    if os.environ.get(RUNS_ENV):
        path = Path(os.environ[RUNS_ENV]).expanduser()
        if path.is_dir():
            return RunsFolder(path, f"Run records from {path} (${RUNS_ENV}).")
        return RunsFolder(None, f"${RUNS_ENV} names {path}, which is not a folder: set it to a copy of the book's "
                                "book/runs, or unset it.")
    start = Path(start or ".")
    for root in (start, start / "..", start / ".." / ".."):
        if (root / BOOK_CONFIG).is_file() and (root / ex.RUNS_DIR).is_dir():
            return RunsFolder((root / ex.RUNS_DIR).resolve(), "Run records from this copy of the book (book/runs).")
    repository = os.environ.get(REPOSITORY_ENV)
    if not repository:
        return RunsFolder(None, f"No run records here: this notebook found no book/runs beside it, and "
                                f"${REPOSITORY_ENV} (which its first cell sets) names no repository to fetch "
                                f"them from. Run the first cell, or clone the book's repository and set "
                                f"${RUNS_ENV} to its book/runs.")
    return fetch_runs(repository)


def archive_url(repository: str) -> str:
    """The archive of a branch, as GitHub (and the test's stand-in) serves it:
    <url>/archive/refs/heads/<branch>.tar.gz."""
    url, _, branch = repository.rpartition("@")
    if not url or not branch:
        raise ValueError(f"${REPOSITORY_ENV}={repository!r}: expected <url>@<branch>")
    return f"{url.rstrip('/')}/archive/refs/heads/{branch}.tar.gz"


def cache_dir(repository: str) -> Path:
    """Where the records fetched from `repository` are kept: beside MNIST's cache (s6lib.mnist.data.cache_root,
    which is not imported: it would load torch)."""
    safe = "".join(c if c.isalnum() or c in "-." else "_" for c in repository.split("://")[-1])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "s6lib" / "runs" / safe


def fetch_runs(repository: str, timeout: float = 30.0) -> RunsFolder:
    """The book's run records from `repository` ("<url>@<branch>"): downloaded as one archive, only
    book/runs/**.json kept, every record validated (run and benchmark records), cached. A cached copy
    younger than FRESH_SECONDS is used as it is, once it validates. Offline, an older valid copy is used
    if there is one; otherwise `path` is None and `source` says what is missing and how to get it.

    `timeout` bounds the download: no read starts once `timeout` seconds have passed, and none waits
    longer than `timeout` (so it takes at most about twice that in all, however slow the server).
    One refresh at a time (a lock beside the cache); it removes what a refresh that was killed left.
    """
    try:
        url = archive_url(repository)
    except ValueError as err:
        return RunsFolder(None, f"{err}.")
    cache = cache_dir(repository)
    runs, stamp = cache / "runs", cache / "fetched_utc"
    try:
        with WriteLock(cache, wait=timeout):
            return _fetch_locked(url, cache, runs, stamp, timeout)
    except (RecordInUse, OSError) as err:  # another refresh that takes too long; a cache we cannot write
        why = " ".join(str(err).split())[:300]
        return RunsFolder(None, f"No run records here: this notebook has no book/runs beside it, and the cache of "
                                f"records fetched from {url} cannot be used ({why}). Run this cell again; or clone "
                                f"the book's repository and set ${RUNS_ENV} to its book/runs.")


def _fetch_locked(url: str, cache: Path, runs: Path, stamp: Path, timeout: float) -> RunsFolder:
    _restore_old(cache)
    cached = _cached_problem(runs, stamp)  # None: the copy is there and validates
    if cached is None and time.time() - stamp.stat().st_mtime < FRESH_SECONDS:
        return RunsFolder(runs, _fetched_text(url, stamp, runs), fetched=True)
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            _unpack_runs(_Download(response, deadline, timeout), cache)
    except (OSError, ValueError, EOFError, zlib.error, tarfile.TarError, RecordError) as err:  # URLError, timeouts
        why = " ".join(str(getattr(err, "reason", err)).split())[:300] or type(err).__name__
        if cached is None:
            return RunsFolder(runs, _fetched_text(url, stamp, runs) + f" (A newer copy could not be fetched: {why}.)",
                              fetched=True)
        return RunsFolder(None, f"No run records here: this notebook has no book/runs beside it, and fetching them "
                                f"from {url} failed ({why}). With a network, run this cell again; or clone the "
                                f"book's repository and set ${RUNS_ENV} to its book/runs.")
    return RunsFolder(runs, _fetched_text(url, stamp, runs), fetched=True)


def _cached_problem(runs: Path, stamp: Path) -> str | None:
    """Why the cached copy cannot be used (none; a record that does not validate), or None."""
    if not stamp.exists():
        return "no copy yet"
    try:
        for path in runs.rglob("*.json"):
            load_any_record(path)
    except RecordError as err:
        return str(err)
    return None


def _restore_old(cache: Path) -> None:
    """A refresh killed between its two renames leaves the previous copy as <cache>.old: put it back, or
    remove it when the new copy made it."""
    old = cache.with_name(cache.name + ".old")
    if old.exists():
        if cache.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.rename(cache)


class _Download:
    """The archive as it arrives, for tarfile's stream mode: at most MAX_ARCHIVE_BYTES, and no read
    after `deadline` (each read returns what has come, so a server that trickles cannot stall it)."""

    def __init__(self, response, deadline: float, timeout: float):
        self.response, self.deadline, self.timeout, self.count = response, deadline, timeout, 0

    def read(self, size: int = -1) -> bytes:
        if time.monotonic() > self.deadline:
            raise TimeoutError(f"the download did not finish within {self.timeout:g} s")
        chunk = self.response.read1(min(size, CHUNK) if size > 0 else CHUNK)
        self.count += len(chunk)
        if self.count > MAX_ARCHIVE_BYTES:
            raise ValueError(f"the archive is larger than {MAX_ARCHIVE_BYTES // 2**20} MB")
        return chunk


def _fetched_text(url: str, stamp: Path, runs: Path) -> str:
    count = sum(1 for _ in runs.rglob("*.json"))
    return (f"Run records fetched from {url} on {stamp.read_text().strip()} ({count} files, each validated), "
            f"cached in {runs}.")


def _record_name(member: tarfile.TarInfo) -> Path | None:
    """Where a member of the repository archive goes under runs/, if it is a book/runs/**.json file."""
    parts = PurePosixPath(member.name).parts
    if (member.isfile() and len(parts) >= 4 and parts[1:3] == ("book", "runs") and parts[-1].endswith(".json")
            and ".." not in parts):
        return Path(*parts[3:])
    return None


def _members(archive: tarfile.TarFile):
    """The archive's members one by one, forgetting each once it is read (a stream of 100,000 tiny
    files must not pile up their headers in memory)."""
    while (member := archive.next()) is not None:
        yield member
        archive.members.clear()


def _unpack_runs(stream, cache: Path) -> None:
    """Keep <top>/book/runs/**.json of a repository archive (read as a stream); validate every one as it
    arrives; replace the cache atomically (a failed fetch leaves the previous copy as it was)."""
    staging = Path(tempfile.mkdtemp(dir=cache.parent, prefix=f".{cache.name}.", suffix=".tmp"))
    try:
        kept = 0
        with tarfile.open(fileobj=stream, mode="r|gz") as archive:
            for member in _members(archive):
                name = _record_name(member)
                if name is None:
                    continue
                if member.size > MAX_RECORD_BYTES:
                    raise ValueError(f"{member.name} is {member.size / 2**20:.1f} MB; a run record is at most "
                                     f"{MAX_RECORD_BYTES // 2**20} MB")
                kept += 1
                if kept > MAX_RECORDS:
                    raise ValueError(f"the archive holds more than {MAX_RECORDS} files under book/runs/")
                dest = staging / "runs" / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(archive.extractfile(member).read(MAX_RECORD_BYTES))
                load_any_record(dest)  # raises RecordError naming the file and field
        if not kept:
            raise ValueError("the archive holds no book/runs/ records")
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
