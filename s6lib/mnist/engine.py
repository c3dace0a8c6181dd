"""How one training step runs: the optimizer and its schedule, the precision, the eager step and its epochs.

The step keeps its numbers on the device (loss sum, correct count, first
non-finite step) in `Metrics`, and the host reads them once per epoch, so the
step has no host sync. Two engines run it: the eager step below, on any
device, and on CUDA pipeline B's whole step captured as one CUDA graph
(s6lib.mnist.graph). `select_engine` and `select_precision` decide; a run record's
`engine` says which ran, in which precision, and why not the faster one.

Precision: bf16 autocast with the model in channels_last wherever the device
computes bf16 natively (CUDA from Ampere on; CPUs with AVX512-BF16 or AMX),
float32 elsewhere, so that "auto" never picks the format a device computes
slower. Measured for Net6 (dropout 0.05, batches of 128, one thread): on an
AMD EPYC Zen 4 (AVX512-BF16, no AMX) bf16 channels_last ran a training step
1.48 times as fast as float32 (median of 15 interleaved rounds of 40 steps,
14 of them faster; 1.78 times with torch's kernels held to AVX2, since oneDNN's
convolutions pick their own instructions) and an evaluation about 4.5 times; on
an AVX512-BF16 Xeon an epoch 1.10 times (bench record); on a Zen 3 without
native bf16 a step is 5 to 6 times slower, where "auto" keeps float32. The
benchmark's "B, float32" and "B, bf16" rows check it on each machine
(`bench.precision_check`).
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .recipes import ConfigError, Recipe

ENGINES = ("auto", "eager", "graph")  # "auto": the CUDA-graph step wherever it can run, else eager
PRECISIONS = ("auto", "bf16", "float32")  # "auto": bf16 where the device computes it natively
BF16, FLOAT32 = "bf16-autocast", "float32"  # as a run record's engine.precision says them


class Diverged(RuntimeError):
    """The training loss went non-finite; `step` is the 0-based step within the epoch."""

    def __init__(self, step: int | None):
        self.step = step
        super().__init__(f"non-finite loss at step {step}" if step is not None else "non-finite test loss")


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
        self.loss_sum += loss.float() * target.shape[0]
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


# --- precision ----------------------------------------------------------------------------


def native_bf16(device: torch.device) -> bool:
    """Does `device` compute bf16 in hardware (CUDA compute capability 8.0+; a CPU with AVX512-BF16 or AMX)?"""
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= (8, 0)
    if device.type == "cpu":
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return False


def select_precision(asked: str, device: torch.device) -> tuple[str, str | None]:
    """(BF16 or FLOAT32, why float32 where bf16 was not chosen). ConfigError for "bf16" where it is not native."""
    if asked not in PRECISIONS:
        raise ConfigError(f"unknown precision {asked!r}; choose from: {', '.join(PRECISIONS)}")
    if asked == "float32":
        return FLOAT32, "float32 as asked"
    if native_bf16(device):
        return BF16, None
    missing = ('compute capability < 8.0' if device.type == 'cuda' else 'no AVX512-BF16 or AMX' if device.type == 'cpu'
               else device.type)
    why = f"{device.type} has no native bf16 ({missing})"
    if asked == "bf16":
        raise ConfigError(f"precision 'bf16' cannot run here: {why}; use --precision auto or float32")
    return FLOAT32, f"float32: {why}"


def autocast(device: torch.device, precision: str):
    """The step's precision as a context (a new one each call); no weight cache, which graphs cannot keep."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == BF16, cache_enabled=False)


def prepare_model(model: nn.Module, precision: str) -> nn.Module:
    """channels_last (NHWC) for bf16: the layout of cuDNN's and oneDNN's fast bf16 convolutions."""
    return model.to(memory_format=torch.channels_last if precision == BF16 else torch.contiguous_format)


def select_engine(engine: str, recipe: Recipe, device: torch.device) -> tuple[bool, str | None]:
    """(run the CUDA-graph step?, why not where `engine` allowed it). ConfigError for "graph" where it cannot run."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose from: {', '.join(ENGINES)}")
    if engine == "eager":
        return False, None
    reason = ("no CUDA device" if device.type != "cuda"
              else "pipeline A feeds batches from a DataLoader" if recipe.pipeline == "A"
              else "the weight average (ema) is updated outside the graph" if recipe.ema is not None else None)
    if reason and engine == "graph":
        raise ConfigError(f"engine 'graph' cannot run here: {reason}; use --engine auto or eager")
    return reason is None, reason


def engine_record(step: str, precision: str, *reasons: str | None, capture_seconds: float | None = None) -> dict:
    """A run record's `engine`: the step ("eager" or "cuda-graph"), its precision, and why not faster
    (the reasons that apply, joined), and a graph's capture time."""
    why = "; ".join(r for r in reasons if r) or None
    return {"step": step, "precision": precision, "fallback": why, "capture_seconds": capture_seconds}


# --- optimizer and schedule ---------------------------------------------------------------


def make_optimizer(recipe: Recipe, model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                           weight_decay=recipe.weight_decay, nesterov=recipe.nesterov)


def make_scheduler(recipe: Recipe, optimizer, steps_per_epoch: int):
    """(scheduler, steps_per_batch): StepLR steps once per epoch, OneCycleLR once per batch.

    OneCycleLR cycles only the learning rate: the recipe's momentum holds for the whole run
    (by default OneCycleLR would also cycle momentum between 0.85 and 0.95, whatever the recipe says).
    """
    if recipe.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=recipe.step_size, gamma=recipe.gamma), False
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.lr, epochs=recipe.epochs,
                                               steps_per_epoch=steps_per_epoch, pct_start=recipe.pct_start,
                                               cycle_momentum=False), True


def step_schedule(recipe: Recipe, model: nn.Module, steps_per_epoch: int) -> list[list[tuple[float, float]]]:
    """(lr, momentum) of every step, [epoch][step], exactly as `make_scheduler` sets them in an eager run."""
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


def training_loss(output: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Mean NLL of log-probabilities `output`; with label smoothing, cross-entropy against smoothed targets
    (log_softmax of log-probabilities leaves them unchanged, so cross_entropy reads them as they are)."""
    if label_smoothing:
        return F.cross_entropy(output, target, label_smoothing=label_smoothing)
    return F.nll_loss(output, target)


# --- the eager step and its epochs ---------------------------------------------------------


def train_step(model: nn.Module, optimizer, x: torch.Tensor, y: torch.Tensor, metrics: Metrics,
               precision: str = FLOAT32, label_smoothing: float = 0.0) -> None:
    """One optimizer step; no host sync. `metrics` gets the plain NLL, comparable across recipes."""
    optimizer.zero_grad(set_to_none=True)
    with autocast(x.device, precision):
        output = model(x)
        loss = training_loss(output, y, label_smoothing)
    loss.backward()
    optimizer.step()
    output = output.detach().float()
    metrics.update(F.nll_loss(output, y) if label_smoothing else loss.detach(), output, y)


def train(model: nn.Module, loader, optimizer, device: torch.device, scheduler=None, progress: bool = False,
          desc: str = "train", precision: str = FLOAT32, label_smoothing: float = 0.0,
          after_step=None) -> tuple[float, float]:
    """One training epoch: (mean loss, percent correct). `scheduler` steps per batch when given;
    `after_step()` runs after every optimizer step when given (the weight average's update).

    Raises Diverged if the loss went non-finite.
    """
    model.train()
    metrics = Metrics(device)
    bar = tqdm(loader, desc=desc, disable=not progress, leave=False, dynamic_ncols=True)
    for x, y in bar:
        train_step(model, optimizer, x.to(device, non_blocking=True), y.to(device, non_blocking=True), metrics,
                   precision, label_smoothing)
        if after_step is not None:
            after_step()
        if scheduler is not None:
            scheduler.step()
    loss, acc, bad_step = metrics.read()
    if bad_step is not None:
        raise Diverged(bad_step)
    return loss, acc


@torch.no_grad()
def test(model: nn.Module, loader, device: torch.device, precision: str = FLOAT32) -> tuple[float, float]:
    """Evaluate on the whole loader: (mean loss, percent correct)."""
    model.eval()
    metrics = Metrics(device)
    for x, y in loader:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with autocast(device, precision):
            output = model(x).float()
        metrics.update(F.nll_loss(output, y), output, y)
    loss, acc, bad_step = metrics.read()
    if bad_step is not None:
        raise Diverged(None)
    return loss, acc


@torch.no_grad()
def misclassified(model: nn.Module, loader, device: torch.device, precision: str = FLOAT32) -> list[list[int]]:
    """[position in the (unshuffled) test loader, predicted class] of each image the model gets wrong."""
    model.eval()
    with autocast(device, precision):
        predicted = torch.cat([model(x.to(device)).argmax(1).cpu() for x, _ in loader])
    labels = torch.cat([y.cpu() for _, y in loader])
    wrong = (predicted != labels).nonzero().flatten()
    return torch.stack([wrong, predicted[wrong]], 1).tolist()
