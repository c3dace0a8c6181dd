"""A training run: seed, data, model and engine, the epoch loop, and the run record it writes.

How each step runs (eager or a CUDA graph, float32 or bf16) is s6lib.mnist.engine's
and s6lib.mnist.graph's; the record's `engine` says which ran.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import random
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..lab import records
from ..lab.provenance import git_info, run_environment
from . import data, graph
from .engine import (
    Diverged,
    engine_record,
    make_optimizer,
    make_scheduler,
    misclassified,
    prepare_model,
    select_engine,
    select_precision,
    test,
    train,
)
from .models import build_model, count_parameters
from .recipes import WORKERS, ConfigError, Recipe, effective_run, run_config, validate
from .specs import get_spec, spec_to_dict

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
LIVE_ENV = "S6_LIVE_TRAIN"  # "1": the training chapter re-trains live even without CUDA; "0": never
SEED_MAX = 2**32 - 1  # numpy's seeds are 0 .. 2**32 - 1
# A reader's own records (`python -m s6lib train` without --out): a folder named unlike the book's
# book/runs, so that nobody takes a student's records for the book's.
OWN_RUNS_DIR = Path("my-runs")


def default_record_path(recipe: Recipe, seed: int) -> Path:
    """Where `train` writes a run's record when not told: my-runs/<recipe>-<model>-s<seed>.json."""
    return OWN_RUNS_DIR / f"{recipe.name}-{recipe.model}-s{seed}.json"


class RunFailed(RuntimeError):
    """A run that could not finish its work: its process died, or its weights or record could not be written."""


class CheckpointError(ConfigError):
    """A file that is not a checkpoint `save_checkpoint` wrote (or not one for the model it names)."""


def check_seed(seed: int) -> int:
    """`seed`, or ConfigError when numpy cannot take it."""
    if not 0 <= seed <= SEED_MAX:
        raise ConfigError(f"seed {seed}: must be in 0..{SEED_MAX} (numpy's range)")
    return seed


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices); the loaders seed their own generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """A torch.device for "auto", "cpu", "cuda", "cuda:N" or "mps"; ConfigError if it is unknown or absent."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or re.fullmatch(r"cuda:\d+", name):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {name!r}: CUDA is not available here (torch {torch.__version__}, "
                f"built for CUDA {torch.version.cuda}); use --device cpu"
            )
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) here")
        return torch.device(name)
    if name == "mps":
        if not torch.backends.mps.is_available():
            raise ConfigError("device 'mps': Apple's MPS is not available here; use --device cpu")
        return torch.device("mps")
    raise ConfigError(f"unknown device {name!r}; choose from: {', '.join(DEVICE_CHOICES)}")


def progress_default() -> bool:
    """Progress bars only for a person at a terminal: not in CI, not into a log file."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def live_training(env: dict | None = None) -> tuple[bool, str]:
    """(re-train live?, why): yes on a machine with CUDA, or when S6_LIVE_TRAIN=1; never when it is 0."""
    env = os.environ if env is None else env
    flag = env.get(LIVE_ENV)
    if flag == "0":
        return False, f"{LIVE_ENV}=0 is set"
    if flag == "1":
        return True, f"{LIVE_ENV}=1 is set"
    if torch.cuda.is_available():
        return True, f"this machine has a CUDA device ({torch.cuda.get_device_name(0)})"
    return False, f"the machine that ran this page has no CUDA device (set {LIVE_ENV}=1 to train here anyway)"


# --- a whole run -----------------------------------------------------------------------------


def checked_config(recipe: Recipe, *, seed: int, limit_train: int | None = None, limit_test: int | None = None,
                   dry_run: bool = False, num_workers: int = WORKERS) -> dict:
    """`run_config`, after refusing what a run cannot do: a bad recipe, seed or limit, a number that is
    not finite (ConfigError naming it). Nothing is loaded or trained."""
    config = run_config(recipe, seed=seed, limit_train=limit_train, limit_test=limit_test, dry_run=dry_run,
                        num_workers=num_workers)
    validate(effective_run(recipe, limit_train, limit_test, dry_run)[0])
    check_seed(seed)
    for name, limit in (("limit_train", config["limit_train"]), ("limit_test", config["limit_test"])):
        if limit is not None and limit < 1:
            raise ConfigError(f"{name}={limit}: must be >= 1")
    for field in records.non_finite(config["recipe"])[:1]:  # inf or nan: no record could hold it
        raise ConfigError(f"recipe {recipe.name!r}: {field} must be a finite number")
    return config


def check_output(path: str | Path, what: str) -> Path:
    """`path`, or ConfigError unless a file can be written there: not a folder, in a folder that exists
    (or can be made) and takes new files. Checked before a run starts, so that it cannot end unsaved."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{what} {path} is a folder: name a file (in it, or elsewhere)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ConfigError(f"{what} {path} cannot be written ({err.strerror or err}): choose a path in a writable "
                          "folder") from None
    return path


def run(recipe: Recipe, *, seed: int = 1, device: str | torch.device = "auto", data_root=None,
        out: str | Path | None = None, limit_train: int | None = None, limit_test: int | None = None,
        dry_run: bool = False, num_workers: int = WORKERS, engine: str = "auto", precision: str = "auto",
        progress: bool | None = None, save_model: str | Path | None = None, log=print) -> dict:
    """Train `recipe` with `seed`; return the run record, also written to `out` after every epoch.

    `engine` is one of ENGINES: "auto" captures pipeline B's step in a CUDA graph on CUDA
    and runs eagerly elsewhere; a failed capture falls back to eager for the whole run.
    `precision` is one of PRECISIONS: "auto" is bf16 autocast where the device computes
    bf16 natively. The record's `engine` says what ran and why not faster. A non-finite
    loss ends the run with status "diverged"; Ctrl-C with "interrupted". With `save_model`,
    a complete run also saves its final weights there (`save_checkpoint`).

    Before any work, bad settings and output paths are refused (ConfigError), and `out` and
    `save_model` are locked for this process (records.WriteLock; RecordInUse when another one
    writes them). A record or weights that cannot be written raise RunFailed, with the record
    saying so where it can be written.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    config = checked_config(recipe, seed=seed, limit_train=limit_train, limit_test=limit_test,
                            dry_run=dry_run, num_workers=num_workers)
    outputs = [check_output(path, what) for path, what in ((out, "the run record"), (save_model, "the weights"))
               if path is not None]
    with contextlib.ExitStack() as locks:
        for path in outputs:
            locks.enter_context(records.WriteLock(path))
        return _run(recipe, config, seed=seed, device=device, data_root=data_root, out=out,
                    limit_train=limit_train, limit_test=limit_test, dry_run=dry_run, num_workers=num_workers,
                    engine=engine, precision=precision, progress=progress, save_model=save_model, log=log)


def _run(recipe: Recipe, config: dict, *, seed, device, data_root, out, limit_train, limit_test, dry_run,
         num_workers, engine, precision, progress, save_model, log) -> dict:
    recipe, limit_train, limit_test = effective_run(recipe, limit_train, limit_test, dry_run)
    use_graph, why_eager = select_engine(engine, recipe, device)
    precision, why_float32 = select_precision(precision, device)
    progress = progress_default() if progress is None else progress

    set_seed(seed)
    train_loader, eval_loader = data.loaders(recipe, root=data_root, device=device, seed=seed,
                                             limit_train=limit_train, limit_test=limit_test, num_workers=num_workers)
    evaluated = "val" if recipe.validation else "test"  # the columns this run fills; the others stay null
    spec = get_spec(recipe.model)
    model = prepare_model(build_model(spec).to(device), precision)
    average = weight_average(model, recipe.ema)
    final = model if average is None else average.module  # the weights evaluated and saved
    graph_step, engine = None, engine_record("eager", precision, why_eager, why_float32)
    if use_graph:
        graph_step, engine = graph.start(model, train_loader, recipe, precision, why_float32, log)
    if graph_step is None:
        optimizer = make_optimizer(recipe, model)
        scheduler, per_batch = make_scheduler(recipe, optimizer, len(train_loader))
        after_step = None if average is None else (lambda: average.update_parameters(model))

        def train_epoch(epoch: int) -> tuple[float, float, float]:
            lr = optimizer.param_groups[0]["lr"]
            loss, acc = train(model, train_loader, optimizer, device, scheduler if per_batch else None,
                              progress, f"epoch {epoch}/{recipe.epochs}", precision, recipe.label_smoothing,
                              after_step)
            if not per_batch:
                scheduler.step()
            return lr, loss, acc
    else:
        train_epoch = graph_step.train_epoch
    record = records.new_record(
        config,
        {"name": recipe.model, "spec": spec_to_dict(spec), "parameters": count_parameters(model)},
        run_environment(device),
        git_info(),
        engine,
    )
    why = f"; {engine['fallback']}" if engine["fallback"] else ""
    log(f"{recipe.name}: {recipe.model} ({record['model']['parameters']:,} parameters), seed {seed}, "
        f"{record['environment']['device_name']}, pipeline {recipe.pipeline}, "
        f"{len(train_loader)} batches of {recipe.batch_size}, {engine['step']} step ({engine['precision']}{why})")

    start = time.perf_counter()
    epoch, unsaved = 0, None
    try:
        for epoch in range(1, recipe.epochs + 1):
            t0 = time.perf_counter()
            lr, train_loss, train_acc = train_epoch(epoch)
            eval_loss, eval_acc = test(final, eval_loader, device, precision)
            row = dict(epoch=epoch, lr=lr, train_loss=train_loss, train_acc=train_acc, val_loss=None, val_acc=None,
                       test_loss=None, test_acc=None, seconds=0.0)
            row.update({f"{evaluated}_loss": eval_loss, f"{evaluated}_acc": eval_acc,
                        "seconds": time.perf_counter() - t0})
            record["epochs"].append(row)
            log(f"epoch {epoch:2d}  lr {lr:.4g}  train loss {train_loss:.4f} acc {train_acc:.2f}%  "
                f"{evaluated} loss {eval_loss:.4f} acc {eval_acc:.2f}%  {row['seconds']:.1f} s")
            _save(record, out, start)
        if evaluated == "test":
            record["misclassified"] = misclassified(final, eval_loader, device, precision)
        record["status"] = "complete"
        if save_model is not None:
            try:
                save_checkpoint(final, record, save_model)
            except OSError as err:
                unsaved = f"the weights could not be saved to {save_model} ({err.strerror or err})"
                record["message"] = f"complete, but {unsaved}: train it again to get them"
    except Diverged as err:
        record["status"] = "diverged"
        record["diverged_at"] = {"epoch": epoch, "step": err.step}
        record["message"] = f"{err} in epoch {epoch}: the run stopped (try a lower lr)"
        log(record["message"])
    except KeyboardInterrupt:
        record["status"], record["message"] = "interrupted", f"interrupted during epoch {epoch}"
        _save(record, out, start, finished=True)
        raise
    _save(record, out, start, finished=True)
    if unsaved:
        raise RunFailed(f"{unsaved}; the run completed, and {out or 'its record'} says so")
    return record


def weight_average(model: torch.nn.Module, decay: float | None):
    """An exponential moving average of `model`'s weights and BatchNorm statistics (torch.optim.swa_utils),
    updated after every step, or None without a decay. Each update moves the average (1 - decay) of the
    way to the current weights, so it remembers about 1 / (1 - decay) steps."""
    if decay is None:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def save_checkpoint(model: torch.nn.Module, record: dict, path: str | Path) -> Path:
    """The final float32 weights with the model's name and the run's config fingerprint (so the weights
    can be matched to their record), written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().contiguous().cpu() if v.is_floating_point() else v.cpu()
             for k, v in model.state_dict().items()}
    with records.atomic_file(path, "wb") as f:
        torch.save({"model": record["model"]["name"], "config_fingerprint": record["config_fingerprint"],
                    "state_dict": state}, f)
    return path


def load_checkpoint(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """(the model in eval mode, the checkpoint's metadata) from `save_checkpoint`'s file; CheckpointError
    naming the file when it is not one. Loads tensors only (weights_only): a checkpoint runs no code."""
    path = Path(path)
    remedy = "make one with `python -m s6lib train --save-model PATH` (see README.md)"
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder, not a file: {remedy}")
    try:
        file = open(path, "rb")
    except OSError as err:
        raise CheckpointError(f"cannot read checkpoint {path} ({err.strerror or err}): {remedy}") from None
    with file:
        try:
            checkpoint = torch.load(file, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError):
            # torch's own message suggests weights_only=False, which would run whatever the file holds
            raise CheckpointError(f"{path} is not a checkpoint saved by `train --save-model` (not a torch file, "
                                  f"truncated, or holding more than tensors): {remedy}") from None
    if not (isinstance(checkpoint, dict) and {"model", "config_fingerprint", "state_dict"} <= checkpoint.keys()):
        raise CheckpointError(f"{path} lacks the model name, config fingerprint or weights that "
                              f"`train --save-model` saves: {remedy}")
    try:
        model = build_model(checkpoint["model"])
        model.load_state_dict(checkpoint["state_dict"])
    except (ConfigError, KeyError, ValueError, RuntimeError, TypeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"the weights in {path} do not fit model {checkpoint['model']!r} ({first[:200]}): "
                              f"{remedy}") from None
    return model.eval(), {k: v for k, v in checkpoint.items() if k != "state_dict"}


def _save(record: dict, out, start: float, finished: bool = False) -> None:
    """Write the record (every epoch, and when the run ends); RunFailed when it cannot be, after marking
    the copy already there (which says "running") as stopped, if that can be written."""
    record["seconds"] = time.perf_counter() - start
    if finished:
        record["finished_utc"] = records.utc_now()
    if out is None:
        return
    try:
        records.write_record(record, out)
    except (OSError, records.RecordError) as err:
        why = getattr(err, "strerror", None) or str(err)
        try:
            marked = records.mark_stopped(out, f"the run went on ({record['status']}, {len(record['epochs'])} "
                                               f"epochs), but its record could not be written: {why}")
        except (OSError, records.RecordError):
            marked = False
        state = "now says the run stopped" if marked else "is out of date"
        raise RunFailed(f"could not write the run record {out} ({why}); the file there {state}: "
                        "fix the folder (space, permissions) and train it again") from None


def checkpoint_record(checkpoint: str | Path, record_path: str | Path | None = None) -> dict:
    """The run record of `checkpoint` (default: the .json beside it), validated; CheckpointError unless
    that run saved the checkpoint (their config fingerprints differ)."""
    record_path = Path(record_path or Path(checkpoint).with_suffix(".json"))
    _, meta = load_checkpoint(checkpoint)
    if not record_path.is_file():
        raise CheckpointError(f"checkpoint {checkpoint} has no run record at {record_path}: `train --save-model` "
                              "writes both; keep them side by side")
    record = records.load_record(record_path)
    if record["config_fingerprint"] != meta["config_fingerprint"]:
        raise CheckpointError(f"{checkpoint} was not saved by the run of {record_path} (config fingerprints "
                              "differ): put the checkpoint beside its own record")
    return record
