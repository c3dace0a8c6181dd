"""Many runs, side by side: `python -m s6lib sweep` trains each run whose record is missing.

A sweep is a list of `Job`s (a recipe, a seed, the record to write), one per
record. Runs that already have a finished record with the same config are
skipped, so running the same command again resumes a sweep; a run that was
stopped midway (its record "interrupted", or left "running" by a process that
was killed) is trained again from its first epoch: a record keeps its epochs'
numbers, not the weights to go on from. With `jobs` > 1, that many training
processes run at once, each with `threads` torch threads: on a CPU, single-
thread processes side by side use the cores better than one process with
several threads (Net6's steps are too small to share well). Each process
writes its record atomically after every epoch and when it finishes, and holds
its record's write lock (s6lib.lab.records.WriteLock) while it runs; it stops,
saving its record as "interrupted", when the sweep that started it dies.
Settings, output paths and locks are checked before the first run starts.
After each finished run the sweep prints one line: the run, its result, runs
done of all, and an estimate of the time left. A process that dies (killed,
out of memory) stops the sweep with one line naming its run (RunFailed).
"""

from __future__ import annotations

import _thread
import multiprocessing
import os
import queue
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from ..mnist.data import DataError
from ..mnist.recipes import ConfigError, Recipe
from ..mnist.train import RunFailed, check_output, checked_config, resolve_device, run
from .records import RecordError, RecordInUse, WriteLock, load_record, mark_stopped

INPUT_ERRORS = (ConfigError, DataError, RecordError, RecordInUse)  # what a child reports as it is

FINISHED = ("complete", "diverged")  # a record in one of these states is not run again
CAN_MASK = hasattr(signal, "pthread_sigmask")  # POSIX; Windows has no signal masks


def available_cpus() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class Job:
    recipe: Recipe
    seed: int
    out: Path


def is_done(job: Job, config: dict) -> dict | None:
    """The job's finished record when one with this config exists, else None. A finished record of
    another config is RecordError: it is a result, and only --force replaces it."""
    if not job.out.exists():
        return None
    old = load_record(job.out)
    if old["status"] not in FINISHED:
        return None
    if old["config"] != config:
        raise RecordError(f"{job.out} holds a {old['status']} run of another config: a sweep does not replace "
                          "it (pass --force to, or write try-outs elsewhere with --out-dir)")
    return old


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return (f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min" if minutes < 60
            else f"{minutes // 60} h {minutes % 60:02d} min")


class Progress:
    """Runs done of all and the time left, estimated from the epochs finished so far."""

    def __init__(self, total: int, epochs_left: int):
        self.total, self.done, self.epochs_left, self.epochs_done = total, 0, epochs_left, 0
        self.start = time.perf_counter()

    def finished(self, epochs: int) -> str:
        self.done += 1
        self.epochs_done += epochs
        self.epochs_left -= epochs
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.epochs_done * self.epochs_left if self.epochs_done else 0.0
        return f"{self.done}/{self.total} done, {_duration(elapsed)} so far, about {_duration(eta)} left"


def run_jobs(jobs: list[Job], options: dict, *, processes: int = 1, threads: int | None = None,
             force: bool = False, log=print) -> dict[str, int]:
    """Train every job not already done; return the count of each final status.

    `options` go to `train.run` (device, data_root, limits, dry_run, num_workers, engine,
    precision) and to `recipes.run_config`. With `processes` > 1, each run is its own process
    with `threads` torch threads (default 1); with 1 it runs here, with its epochs logged.
    Before any run starts, each job's settings and record path are checked (ConfigError), and a
    record another process is writing is refused (RecordInUse).
    """
    if threads is not None and threads < 1:
        raise ConfigError(f"threads={threads}: must be >= 1")
    if isinstance(options.get("device", "auto"), str):
        resolve_device(options.get("device", "auto"))  # ConfigError here, not in every child
    config_options = {k: options[k] for k in ("limit_train", "limit_test", "dry_run", "num_workers") if k in options}
    jobs = _one_per_record(jobs)
    todo = []
    for i, job in enumerate(jobs, 1):
        config = checked_config(job.recipe, seed=job.seed, **config_options)
        check_output(job.out, "the run record")
        old = None if force else is_done(job, config)
        if old:
            log(f"[{i}/{len(jobs)}] {job.out} is {old['status']} with this config; skipped (--force reruns it)")
        else:
            with WriteLock(job.out):  # free now (RecordInUse if not); each run takes it for itself
                todo.append(job)
    counts = {"complete": 0, "diverged": 0, "interrupted": 0, "skipped": len(jobs) - len(todo)}
    if not todo:
        return counts
    epochs = 1 if options.get("dry_run") else None
    progress = Progress(len(todo), sum(epochs or job.recipe.epochs for job in todo))
    log(f"{len(todo)} runs to train ({counts['skipped']} already done), {processes} at a time")

    def report(job: Job, record: dict) -> None:
        counts[record["status"]] += 1
        where = "val" if job.recipe.validation else "test"
        last = record["epochs"][-1][f"{where}_acc"] if record["epochs"] else None
        result = f"final {where} {last:.2f}%" if last is not None else "no epoch finished"
        log(f"{record['status']}: {job.out} ({job.recipe.model}, seed {job.seed}): {result}, "
            f"{_duration(record['seconds'])} | {progress.finished(len(record['epochs']))}")

    if processes <= 1:
        for job in todo:
            log(f"--- {job.recipe.name} {job.recipe.model} seed {job.seed}")
            report(job, _train(job, options, log))
        return counts
    _run_parallel(todo, options, processes, threads or 1, report)
    return counts


def _one_per_record(jobs: list[Job]) -> list[Job]:
    """The jobs, each record once (`--seeds 1 1` is one run); ConfigError if two different runs share one."""
    by_out: dict[Path, Job] = {}
    for job in jobs:
        first = by_out.setdefault(job.out, job)
        if first != job:
            raise ConfigError(f"two different runs would write {job.out} ({first.recipe.name} seed {first.seed} "
                              f"and {job.recipe.name} seed {job.seed}): give each its own record")
    return list(by_out.values())


def _train(job: Job, options: dict, log) -> dict:
    return run(job.recipe, seed=job.seed, out=job.out, log=log, **options)


def _child(job: Job, options: dict, threads: int, results, parent: int) -> None:
    """One run in its own process; its record goes to job.out, a summary (or the error) to `results`.
    It starts with SIGINT blocked (see _start): a Ctrl-C that came during start-up arrives here."""
    signal.signal(signal.SIGINT, _interrupt_once)  # the parent stops it with SIGINT, even from `cmd &`
    try:
        _stop_with(parent)
        if CAN_MASK:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        results.put((os.getpid(), "started", None))  # from now on, SIGINT saves its record
        # No progress bars here: tqdm's default lock is a semaphore, which a child that is killed leaves to
        # the sweep's resource tracker (a "leaked semaphore" warning when the sweep ends); a thread lock is enough.
        tqdm.set_lock(threading.RLock())
        torch.set_num_threads(threads)
        record = _train(job, {**options, "progress": False}, log=lambda *a: None)
        message = ("record", {k: record[k] for k in ("status", "epochs", "seconds")})
    except KeyboardInterrupt:  # the run has saved its record as "interrupted"
        message = ("interrupted", None)
    except INPUT_ERRORS as err:  # a bad config, missing data, a record in use: the sweep stops and says why
        message = ("error", err)
    except Exception as err:  # anything else: the sweep names the run and the error, in one line
        message = ("failed", f"{type(err).__name__}: {' '.join(str(err).split())[:300]}")
    if os.getppid() == parent:  # nobody reads an orphan's results
        results.put((os.getpid(), *message))


def _stop_with(parent: int) -> None:
    """Interrupt this process (as Ctrl-C does: its run saves its record) once `parent` is gone."""

    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        _thread.interrupt_main(signal.SIGINT)  # as a Ctrl-C in the main thread, on every platform

    threading.Thread(target=watch, name="s6-parent-watch", daemon=True).start()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _interrupt_once(signum, frame):
    """Ctrl-C for a child: the first SIGINT stops the run; later ones (the terminal's and then the sweep's)
    are ignored, so that they cannot cut short the save of its record."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _run_parallel(todo: list[Job], options: dict, processes: int, threads: int, report) -> None:
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the sweep as Ctrl-C does
    try:
        _run_processes(todo, options, processes, threads, report)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _start(context, job: Job, options: dict, threads: int, results):
    """Start a child with SIGINT blocked, which it inherits: a Ctrl-C while it imports torch waits for
    `_child` (no traceback from a half-started interpreter); here it arrives once start() returns.
    Windows has no signal masks: there a Ctrl-C during start-up ends the child before it has a record."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if CAN_MASK else None
    try:
        process = context.Process(target=_child, args=(job, options, threads, results, os.getpid()))
        process.start()
    finally:
        if CAN_MASK:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return process


def _run_processes(todo: list[Job], options: dict, processes: int, threads: int, report) -> None:
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited torch threads or state
    results = context.Queue()
    waiting, running, started = list(todo), {}, set()  # running: pid -> (process, job)
    try:
        while waiting or running:
            while waiting and len(running) < processes:
                job = waiting.pop(0)
                process = _start(context, job, options, threads, results)
                running[process.pid] = (process, job)
            try:
                pid, kind, payload = results.get(timeout=5)
            except queue.Empty:
                _check_alive(running)
                continue
            if kind == "started":
                started.add(pid)
                continue
            process, job = running.pop(pid)
            process.join()
            if kind == "error":
                raise payload
            if kind == "failed":
                raise RunFailed(f"the run for {job.out} ({job.recipe.model}, seed {job.seed}) failed: {payload}; "
                                "the sweep stopped (the other runs in flight saved their records)")
            if kind == "interrupted":
                raise KeyboardInterrupt
            report(job, payload)
    finally:  # Ctrl-C, an error, or a signal to this process only: stop the runs in flight
        _stop(running, started, results)


def _stop(running: dict, started: set, results) -> None:
    """Stop every run in flight: one that has started gets SIGINT and saves its record; one still
    starting up (importing torch: nothing to save yet) is ended at once. Windows cannot send SIGINT to
    one process: there every run is ended at once, its record left "running", trained again next time."""
    try:
        while True:
            pid, kind, _ = results.get_nowait()
            if kind == "started":
                started.add(pid)
    except queue.Empty:
        pass
    for pid, (process, _) in running.items():
        if process.is_alive() and pid in started and os.name == "posix":
            os.kill(pid, signal.SIGINT)
        elif process.is_alive():
            process.terminate()
    for process, _ in running.values():
        process.join(timeout=60)
        if process.is_alive():
            process.terminate()


def _check_alive(running: dict) -> None:
    """RunFailed for a process that died without a word (killed, out of memory), after saying so in its
    record. One that exited normally has its result on the way."""
    for pid, (process, job) in list(running.items()):
        if process.exitcode not in (None, 0):
            running.pop(pid)
            how = (f"killed by {_signal_name(-process.exitcode)}" if process.exitcode < 0
                   else f"exit code {process.exitcode}")
            _say_it_died(job, how)
            raise RunFailed(f"the run for {job.out} ({job.recipe.model}, seed {job.seed}) died ({how}; out of "
                            "memory, or killed); the sweep stopped: run it again to resume (this run starts over)")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _say_it_died(job: Job, how: str) -> None:
    """Mark the dead run's record (left "running") as stopped. Its DataLoader workers (pipeline A) hold
    its lock until they notice, within seconds; if nobody lets go, the record stays as it was."""
    try:
        with WriteLock(job.out, wait=15):
            if job.out.exists():
                mark_stopped(job.out, f"its training process died ({how}); the sweep stopped")
    except (RecordInUse, RecordError, OSError):
        pass
