"""Training: train/test epochs (as the seed's utils had them) and the run loop that writes a record.

The training step keeps its numbers on the device (loss sum, correct count,
first non-finite step) and the host reads them once per epoch, so the step has
no host sync. On CUDA, pipeline B's whole step runs as one captured CUDA graph
(s6lib.fast); `select_engine` decides, and the run record's `engine` says which ran.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from . import data, records
from .provenance import git_info, run_environment
from .models import build_model, count_parameters, get_spec, spec_to_dict
from .recipes import ConfigError, Recipe, validate

DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
DRY_RUN_BATCHES = 2  # training batches of a --dry-run (one test batch)
WORKERS = 2  # pipeline A's DataLoader processes (Colab and this CI machine have 2 CPU cores)


ENGINES = ("auto", "eager", "graph")  # "auto": the CUDA-graph step wherever it can run, else eager

# The plain PyTorch step, as a run record's `engine` describes it.
EAGER_ENGINE = {"step": "eager", "precision": "float32", "fallback": None, "capture_seconds": None}


class Diverged(RuntimeError):
    """The training loss went non-finite; `step` is the 0-based step within the epoch."""

    def __init__(self, step: int | None):
        self.step = step
        super().__init__(f"non-finite loss at step {step}" if step is not None else "non-finite test loss")


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


# --- epochs -------------------------------------------------------------------------


class Metrics:
    """Sums of one epoch kept on the device; `read` is the one host sync."""

    def __init__(self, device: torch.device):
        self.loss_sum = torch.empty((), device=device)
        self.correct, self.count, self.steps, self.first_bad_step = (
            torch.empty((), dtype=torch.long, device=device) for _ in range(4))
        self.reset()

    def reset(self) -> None:
        """Start a new epoch, in place: a captured step holds these tensors' addresses."""
        for total in (self.loss_sum, self.correct, self.count, self.steps):
            total.zero_()
        self.first_bad_step.fill_(-1)

    def update(self, loss: torch.Tensor, output: torch.Tensor, target: torch.Tensor) -> None:
        """Add one batch: `loss` is the batch's mean NLL (detached), `output` its log-probabilities."""
        self.loss_sum += loss * target.shape[0]
        self.correct += (output.argmax(1) == target).sum()
        self.count += target.shape[0]
        new_bad = ~torch.isfinite(loss) & (self.first_bad_step < 0)
        self.first_bad_step.copy_(torch.where(new_bad, self.steps, self.first_bad_step))
        self.steps += 1

    def read(self) -> tuple[float, float, int | None]:
        """(mean loss, percent correct, first non-finite step or None)."""
        sums = (self.loss_sum, self.correct, self.count, self.first_bad_step)
        loss_sum, correct, count, bad = (t.item() for t in sums)
        return loss_sum / count, 100.0 * correct / count, (bad if bad >= 0 else None)


def train_step(model: nn.Module, optimizer, x: torch.Tensor, y: torch.Tensor, metrics: Metrics) -> None:
    """One optimizer step; no host sync."""
    optimizer.zero_grad(set_to_none=True)
    output = model(x)
    loss = F.nll_loss(output, y)
    loss.backward()
    optimizer.step()
    metrics.update(loss.detach(), output.detach(), y)


def train(model: nn.Module, loader, optimizer, device: torch.device, scheduler=None,
          progress: bool = False, desc: str = "train") -> tuple[float, float]:
    """One training epoch: (mean loss, percent correct). `scheduler` steps per batch when given.

    Raises Diverged if the loss went non-finite.
    """
    model.train()
    metrics = Metrics(device)
    bar = tqdm(loader, desc=desc, disable=not progress, leave=False, dynamic_ncols=True)
    for x, y in bar:
        train_step(model, optimizer, x.to(device, non_blocking=True), y.to(device, non_blocking=True), metrics)
        if scheduler is not None:
            scheduler.step()
    loss, acc, bad_step = metrics.read()
    if bad_step is not None:
        raise Diverged(bad_step)
    return loss, acc


@torch.no_grad()
def test(model: nn.Module, loader, device: torch.device) -> tuple[float, float]:
    """Evaluate on the whole loader: (mean loss, percent correct)."""
    model.eval()
    metrics = Metrics(device)
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        output = model(x)
        metrics.update(F.nll_loss(output, y), output, y)
    loss, acc, bad_step = metrics.read()
    if bad_step is not None:
        raise Diverged(None)
    return loss, acc


@torch.no_grad()
def misclassified(model: nn.Module, loader, device: torch.device) -> list[list[int]]:
    """[position in the (unshuffled) test loader, predicted class] of each image the model gets wrong."""
    model.eval()
    predicted = torch.cat([model(x.to(device)).argmax(1).cpu() for x, _ in loader])
    labels = torch.cat([y.cpu() for _, y in loader])
    wrong = (predicted != labels).nonzero().flatten()
    return torch.stack([wrong, predicted[wrong]], 1).tolist()


# --- optimizer and schedule ------------------------------------------------------------


def make_optimizer(recipe: Recipe, model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                           weight_decay=recipe.weight_decay, nesterov=recipe.nesterov)


def make_scheduler(recipe: Recipe, optimizer, steps_per_epoch: int):
    """(scheduler, steps_per_batch): StepLR steps once per epoch, OneCycleLR once per batch."""
    if recipe.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=recipe.step_size, gamma=recipe.gamma), False
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.lr, epochs=recipe.epochs,
                                               steps_per_epoch=steps_per_epoch, pct_start=recipe.pct_start), True


def step_schedule(recipe: Recipe, model: nn.Module, steps_per_epoch: int) -> list[list[tuple[float, float]]]:
    """(lr, momentum) of every step, [epoch][step], exactly as `make_scheduler` sets them in an
    eager run (OneCycleLR cycles the momentum too)."""
    optimizer = make_optimizer(recipe, model)  # never steps: only its settings are read
    scheduler, per_batch = make_scheduler(recipe, optimizer, steps_per_epoch)
    group, schedule = optimizer.param_groups[0], []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Detected call of `lr_scheduler.step")  # the optimizer never steps, by design
        for _ in range(recipe.epochs):
            schedule.append([])
            for _ in range(steps_per_epoch):
                schedule[-1].append((group["lr"], group["momentum"]))
                if per_batch:
                    scheduler.step()
            if not per_batch:
                scheduler.step()
    return schedule


def select_engine(engine: str, recipe: Recipe, device: torch.device) -> tuple[bool, str | None]:
    """(run the CUDA-graph step?, why not where `engine` allowed it). ConfigError for "graph" where it cannot run."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose from: {', '.join(ENGINES)}")
    if engine == "eager":
        return False, None
    reason = ("no CUDA device" if device.type != "cuda"
              else "pipeline A feeds batches from a DataLoader" if recipe.pipeline == "A" else None)
    if reason and engine == "graph":
        raise ConfigError(f"engine 'graph' cannot run here: {reason}; use --engine auto or eager")
    return reason is None, reason


# --- a whole run -----------------------------------------------------------------------------


def _effective(recipe: Recipe, limit_train: int | None, limit_test: int | None, dry_run: bool):
    """(recipe, limit_train, limit_test) as a run uses them: a dry run is one epoch of
    DRY_RUN_BATCHES training batches and one test batch."""
    if not dry_run:
        return recipe, limit_train, limit_test
    cap_train, cap_test = DRY_RUN_BATCHES * recipe.batch_size, recipe.test_batch_size
    return (dataclasses.replace(recipe, epochs=1), min(limit_train or cap_train, cap_train),
            min(limit_test or cap_test, cap_test))


def run_config(recipe: Recipe, *, seed: int, limit_train: int | None = None, limit_test: int | None = None,
               dry_run: bool = False, num_workers: int = WORKERS) -> dict:
    """The config a run records: everything that decides its numbers (on one machine)."""
    recipe, limit_train, limit_test = _effective(recipe, limit_train, limit_test, dry_run)
    return {
        "recipe": dataclasses.asdict(recipe),
        "seed": seed,
        "limit_train": limit_train,
        "limit_test": limit_test,
        "dry_run": dry_run,
        "num_workers": num_workers,
    }


def run(recipe: Recipe, *, seed: int = 1, device: str | torch.device = "auto", data_root=None,
        out: str | Path | None = None, limit_train: int | None = None, limit_test: int | None = None,
        dry_run: bool = False, num_workers: int = WORKERS, engine: str = "auto", progress: bool | None = None,
        log=print) -> dict:
    """Train `recipe` with `seed`; return the run record, also written to `out` after every epoch.

    `engine` is one of ENGINES: "auto" captures pipeline B's step in a CUDA graph on CUDA
    and runs eagerly elsewhere (the record's `engine.fallback` says why); a failed
    capture falls back to eager for the whole run. A non-finite loss ends the run
    with status "diverged"; Ctrl-C with "interrupted".
    """
    device = resolve_device(device) if isinstance(device, str) else device
    config = run_config(recipe, seed=seed, limit_train=limit_train, limit_test=limit_test,
                        dry_run=dry_run, num_workers=num_workers)
    recipe, limit_train, limit_test = _effective(recipe, limit_train, limit_test, dry_run)
    validate(recipe)
    for name, limit in (("limit_train", limit_train), ("limit_test", limit_test)):
        if limit is not None and limit < 1:
            raise ConfigError(f"{name}={limit}: must be >= 1")
    use_graph, fallback = select_engine(engine, recipe, device)
    progress = progress_default() if progress is None else progress

    set_seed(seed)
    train_loader, test_loader = data.loaders(recipe, root=data_root, device=device, seed=seed,
                                             limit_train=limit_train, limit_test=limit_test, num_workers=num_workers)
    spec = get_spec(recipe.model)
    model = build_model(spec).to(device)
    graph_step, engine_record = None, {**EAGER_ENGINE, "fallback": fallback}
    if use_graph:
        from . import fast

        graph_step, engine_record = fast.start(model, train_loader, recipe, log)
    if graph_step is None:
        optimizer = make_optimizer(recipe, model)
        scheduler, per_batch = make_scheduler(recipe, optimizer, len(train_loader))

        def train_epoch(epoch: int) -> tuple[float, float, float]:
            lr = optimizer.param_groups[0]["lr"]
            loss, acc = train(model, train_loader, optimizer, device, scheduler if per_batch else None,
                              progress, desc=f"epoch {epoch}/{recipe.epochs}")
            if not per_batch:
                scheduler.step()
            return lr, loss, acc

        evaluation = contextlib.nullcontext
    else:
        train_epoch, evaluation = graph_step.train_epoch, graph_step.autocast
    record = records.new_record(
        config,
        {"name": recipe.model, "spec": spec_to_dict(spec), "parameters": count_parameters(model)},
        run_environment(device),
        git_info(),
        engine_record,
    )
    why = f"; {engine_record['fallback']}" if engine_record["fallback"] else ""
    log(f"{recipe.name}: {recipe.model} ({record['model']['parameters']:,} parameters), seed {seed}, "
        f"{record['environment']['device_name']}, pipeline {recipe.pipeline}, "
        f"{len(train_loader)} batches of {recipe.batch_size}, {engine_record['step']} step "
        f"({engine_record['precision']}{why})")

    start = time.perf_counter()
    epoch = 0
    try:
        for epoch in range(1, recipe.epochs + 1):
            t0 = time.perf_counter()
            lr, train_loss, train_acc = train_epoch(epoch)
            with evaluation():
                test_loss, test_acc = test(model, test_loader, device)
            row = dict(epoch=epoch, lr=lr, train_loss=train_loss, train_acc=train_acc,
                       test_loss=test_loss, test_acc=test_acc, seconds=time.perf_counter() - t0)
            record["epochs"].append(row)
            log(f"epoch {epoch:2d}  lr {lr:.4g}  train loss {train_loss:.4f} acc {train_acc:.2f}%  "
                f"test loss {test_loss:.4f} acc {test_acc:.2f}%  {row['seconds']:.1f} s")
            _save(record, out, start)
        with evaluation():
            record["misclassified"] = misclassified(model, test_loader, device)
        record["status"] = "complete"
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
    return record


def _save(record: dict, out, start: float, finished: bool = False) -> None:
    record["seconds"] = time.perf_counter() - start
    if finished:
        record["finished_utc"] = records.utc_now()
    if out is not None:
        records.write_record(record, out)
