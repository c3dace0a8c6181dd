"""Many runs, side by side: `python -m s6lib sweep` trains each run whose record is missing.

A sweep is a list of `Job`s (a recipe, a seed, the record to write). Runs that
already have a finished record with the same config are skipped, so running
the same command again resumes a sweep. With `jobs` > 1, that many training
processes run at once, each with `threads` torch threads: on a CPU, single-
thread processes side by side use the cores better than one process with
several threads (Net6's steps are too small to share well). Each process
writes its record atomically after every epoch and when it finishes; a killed
sweep loses at most the epochs in flight. After each finished run the sweep
prints one line: the run, its result, runs done of all, and an estimate of the
time left.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .records import load_record
from .recipes import Recipe
from .train import run, run_config

FINISHED = ("complete", "diverged")  # a record in one of these states is not run again


def available_cpus() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class Job:
    recipe: Recipe
    seed: int
    out: Path


def is_done(job: Job, config: dict) -> dict | None:
    """The job's finished record when one with this config exists, else None."""
    if not job.out.exists():
        return None
    old = load_record(job.out)
    return old if old["config"] == config and old["status"] in FINISHED else None


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
    precision) and to `train.run_config`. With `processes` > 1, each run is its own process
    with `threads` torch threads (default 1); with 1 it runs here, with its epochs logged.
    """
    config_options = {k: options[k] for k in ("limit_train", "limit_test", "dry_run", "num_workers") if k in options}
    todo = []
    for i, job in enumerate(jobs, 1):
        old = None if force else is_done(job, run_config(job.recipe, seed=job.seed, **config_options))
        if old:
            log(f"[{i}/{len(jobs)}] {job.out} is {old['status']} with this config; skipped (--force reruns it)")
        else:
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


def _train(job: Job, options: dict, log) -> dict:
    return run(job.recipe, seed=job.seed, out=job.out, log=log, **options)


def _child(job: Job, options: dict, threads: int, results) -> None:
    """One run in its own process; its record goes to job.out, a summary (or the error) to `results`."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the parent stops it with SIGINT, even from `cmd &`
    torch.set_num_threads(threads)
    try:
        record = _train(job, {**options, "progress": False}, log=lambda *a: None)
        results.put((os.getpid(), "record", {k: record[k] for k in ("status", "epochs", "seconds")}))
    except KeyboardInterrupt:  # the run has saved its record as "interrupted"
        results.put((os.getpid(), "interrupted", None))
    except Exception as err:  # a bad config or missing data: the parent stops the sweep and says why
        results.put((os.getpid(), "error", err))


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _run_parallel(todo: list[Job], options: dict, processes: int, threads: int, report) -> None:
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the sweep as Ctrl-C does
    try:
        _run_processes(todo, options, processes, threads, report)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_processes(todo: list[Job], options: dict, processes: int, threads: int, report) -> None:
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited torch threads or state
    results = context.Queue()
    waiting, running = list(todo), {}  # pid -> (process, job)
    try:
        while waiting or running:
            while waiting and len(running) < processes:
                job = waiting.pop(0)
                process = context.Process(target=_child, args=(job, options, threads, results))
                process.start()
                running[process.pid] = (process, job)
            try:
                pid, kind, payload = results.get(timeout=5)
            except queue.Empty:  # a process that died without a word (killed, out of memory)
                for pid, (process, job) in list(running.items()):
                    if not process.is_alive():
                        running.pop(pid)
                        raise RuntimeError(f"the run for {job.out} died (exit code {process.exitcode}); "
                                           "run the sweep again to resume")
                continue
            process, job = running.pop(pid)
            process.join()
            if kind == "error":
                raise payload
            if kind == "interrupted":
                raise KeyboardInterrupt
            report(job, payload)
    finally:  # Ctrl-C, an error, or a signal to this process only: stop the runs in flight, which save themselves
        for process, _ in running.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGINT)
        for process, _ in running.values():
            process.join(timeout=60)
            if process.is_alive():
                process.terminate()
