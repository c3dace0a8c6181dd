"""The fast path: pipeline B's whole training step captured once as a CUDA graph, then replayed.

Net6 is tiny (about 6 MFLOP per image per step), so an eager step spends its
time in Python and kernel launches. `GraphStep.step` does all of one step:
gather the batch from the uint8 images on the device, augment it, forward,
loss, backward, SGD with this step's learning rate, and add to the epoch's
metrics. It reads only tensors that keep their addresses for the whole run: the
epoch's order of images, its schedule (lr and momentum of each step), and the
metrics, whose step counter says which row of the order and of the schedule a
step uses. One capture of `step` therefore serves every step, and per epoch the
host only shuffles, replays the graph once per step, reads the metrics (one
sync) and tests eagerly (under the same autocast).

The capture follows torch's "whole network capture" recipe (torch.cuda.graphs
docs): warm up on a side stream, capture with `torch.cuda.graph`, replay. The
warm-up is then undone (weights, BatchNorm statistics, momentum, both random
generators), so training starts where an eager run starts. The augmentation
draws from the loader's own generator, registered with the graph
(`CUDAGraph.register_generator_state`); dropout draws from the default CUDA
generator, which capture registers itself. Each replay advances both as the
eager ops would (torch's graph-safe RNG), and the per-epoch shuffle draws from
the loader's generator eagerly between replays.

The step runs in the precision the run chose (s6lib.mnist.engine.select_precision):
bf16 autocast with the model in channels_last on devices with native bf16. On
the CPU, where nothing is captured and the same `step` runs eagerly (tests),
it matches the eager engine.

Pipeline B's training loader drops the last partial batch (with a new order
every epoch), so every step has the same shapes.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import nn

from .data import DeviceLoader
from .engine import Diverged, Metrics, autocast, engine_record, prepare_model, step_schedule, training_loss
from .recipes import Recipe

WARMUP_STEPS = 3  # eager steps on a side stream before capture, as in torch's recipe


class GraphStep:
    """Pipeline B's training step over tensors at fixed addresses: captured by `capture` (CUDA),
    else run eagerly by `train_epoch`."""

    def __init__(self, model: nn.Module, loader: DeviceLoader, recipe: Recipe, precision: str):
        self.device = loader.labels.device
        self.precision = precision
        prepare_model(model, precision)
        self.model, self.loader, self.recipe = model, loader, recipe
        self.params = list(model.parameters())
        self.buffers = [torch.zeros_like(p) for p in self.params]  # SGD's momentum buffers
        rows, batch = len(loader), min(loader.batch_size, len(loader.labels))
        self.schedule = step_schedule(recipe, model, rows)  # [epoch][step] -> (lr, momentum)
        self.all_settings = torch.tensor(self.schedule, device=self.device)
        self.settings = torch.zeros(rows, 2, device=self.device)  # this epoch's (lr, momentum) by step
        self.order = torch.zeros(rows, batch, dtype=torch.long, device=self.device)  # this epoch's images, by step
        self.metrics = Metrics(self.device)
        self.graph = None

    def step(self) -> None:
        """One training step, from the fixed tensors only: the same work every call, no host sync."""
        i = self.metrics.steps.view(1)  # this step's index in the epoch
        x, y = self.loader.batch(self.order.index_select(0, i).view(-1))
        for p in self.params:
            p.grad = None  # backward writes fresh gradients (in the graph's memory when capturing)
        with autocast(self.device, self.precision):
            output = self.model(x)
            loss = training_loss(output, y, self.recipe.label_smoothing)
        loss.backward()
        lr, momentum = self.settings.index_select(0, i).squeeze(0).unbind()
        sgd(self.params, self.buffers, lr, momentum, weight_decay=self.recipe.weight_decay,
            nesterov=self.recipe.nesterov)
        output = output.detach().float()
        self.metrics.update(F.nll_loss(output, y) if self.recipe.label_smoothing else loss.detach(), output, y)

    def capture(self) -> float:
        """Warm up on a side stream, capture `step` as a CUDA graph, undo the warm-up; return the seconds taken."""
        start = time.perf_counter()
        saved = ([t.clone() for t in self.model.state_dict().values()], self.loader.generator.get_state(),
                 torch.cuda.get_rng_state(self.device))
        with torch.cuda.device(self.device):
            try:
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    for _ in range(WARMUP_STEPS):
                        self.metrics.reset()  # step 0 each time: row 0 of the order exists however short the epoch
                        self.step()
                torch.cuda.current_stream().wait_stream(side)
                graph = torch.cuda.CUDAGraph()
                graph.register_generator_state(self.loader.generator)
                self.metrics.reset()
                with torch.cuda.graph(graph):
                    self.step()
            finally:  # also after a failed capture: the run then goes on eagerly from the same start
                tensors, loader_rng, cuda_rng = saved
                for t, s in zip(self.model.state_dict().values(), tensors):
                    t.copy_(s)
                for buffer in self.buffers:
                    buffer.zero_()
                self.loader.generator.set_state(loader_rng)
                torch.cuda.set_rng_state(cuda_rng, self.device)
            torch.cuda.synchronize()
        self.graph = graph
        return time.perf_counter() - start

    def train_epoch(self, epoch: int) -> tuple[float, float, float]:
        """Train epoch `epoch` (1-based): (lr at its start, mean loss, percent correct). Raises Diverged."""
        self.model.train()
        rows, batch = self.order.shape
        self.order.copy_(self.loader.permutation()[: rows * batch].view(rows, batch))
        self.settings.copy_(self.all_settings[epoch - 1])
        self.metrics.reset()
        for _ in range(rows):
            if self.graph is not None:
                self.graph.replay()
            else:
                self.step()
        loss, acc, bad_step = self.metrics.read()
        if bad_step is not None:
            raise Diverged(bad_step)
        return self.schedule[epoch - 1][0][0], loss, acc


@torch.no_grad()
def sgd(params: list[torch.Tensor], buffers: list[torch.Tensor], lr: torch.Tensor, momentum: torch.Tensor, *,
        weight_decay: float, nesterov: bool) -> None:
    """torch.optim.SGD's update (no dampening), with `lr` and `momentum` 0-dim tensors on the
    parameters' device: torch's SGD reads them as Python numbers, a host sync a graph cannot hold.

    `buffers` start at zero, so the first update (0 * momentum + grad) is torch's
    (buffer = grad), and a momentum of 0 gives plain SGD as torch's does.
    Parameters without a gradient are left alone, as torch's SGD leaves them.
    """
    pairs = [(p, b) for p, b in zip(params, buffers, strict=True) if p.grad is not None]
    params, buffers = [p for p, _ in pairs], [b for _, b in pairs]
    grads = [p.grad for p in params]
    if weight_decay:
        grads = torch._foreach_add(grads, params, alpha=weight_decay)
    torch._foreach_mul_(buffers, momentum)
    torch._foreach_add_(buffers, grads)
    grads = torch._foreach_add(grads, torch._foreach_mul(buffers, momentum)) if nesterov else buffers
    torch._foreach_sub_(params, torch._foreach_mul(grads, lr))


def start(model: nn.Module, loader: DeviceLoader, recipe: Recipe, precision: str, why_precision: str | None = None,
          log=print) -> tuple[GraphStep | None, dict]:
    """The run's captured step and its record's `engine`. Where capture fails: (None, the eager engine's
    record with the reason), with the model's weights as they were, so the run goes on eagerly."""
    try:
        step = GraphStep(model, loader, recipe, precision)
        seconds = step.capture()
    except Exception as err:  # whatever stops the capture, the run still trains, and says why
        reason = "capture failed: " + " ".join(f"{type(err).__name__}: {err}".split())[:300]
        log(f"CUDA graph {reason}; training eagerly")
        return None, engine_record("eager", precision, reason, why_precision)
    return step, engine_record("cuda-graph", precision, why_precision, capture_seconds=seconds)
