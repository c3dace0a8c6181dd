"""The numeric answers of Part 2's exercises, computed by the library.

Each function names the question it answers (its defaults are the exercise's model or recipe),
so the page's answer box and solution and tests/test_mnist_exercises.py, which checks each
against a computation of its own, ask the same question. `likely_mistake(label, slip)` gives the
number a likely slip leads to, for the answer box's hint that names it (the words are the page's).
"""

from __future__ import annotations

import dataclasses

import torch
from torch.utils.data import DataLoader

from .data import DeviceLoader
from .engine import step_schedule
from .goals import TRAIN_IMAGES
from .models import build_model, count_parameters, parameters_by_layer
from .receptive_field import last_conv_rf
from .recipes import Recipe, get_recipe
from .specs import get_spec

NARROW = "net6-d05-narrow"  # channels 4, 8, 16, 32, 10
POOL_EARLY = "net6-d05-pool-early"  # max-pool after blocks 1 and 4
CHANGED_TARGETS = {"t1": 0.01, "t2": 0.99}  # Mazur's targets on the class network


def block_parameters(variant: str = NARROW, block: int = 4) -> int:
    """Parameters of block `block`'s 3×3 convolution and its BatchNorm in `variant`."""
    counts = parameters_by_layer(build_model(variant))
    return counts[f"conv{block}"] + counts.get(f"bn{block}", 0)


def batchnorm_parameters(variant: str = "net6") -> int:
    """How many parameters `variant` loses without its BatchNorm layers."""
    without = dataclasses.replace(get_spec(variant), batchnorm="none")
    return count_parameters(build_model(variant)) - count_parameters(build_model(without))


def head_receptive_field(variant: str = POOL_EARLY) -> int:
    """Receptive field of the last 3×3 convolution of `variant`, in input pixels."""
    return last_conv_rf(variant)


def steps_per_epoch(recipe: str | Recipe = "fast", images: int = TRAIN_IMAGES) -> int:
    """Optimizer steps in one epoch of `images` (a recipe by name, or built), as the recipe's own
    loader counts them: pipeline B drops the last partial batch, pipeline A's DataLoader keeps it."""
    r = get_recipe(recipe) if isinstance(recipe, str) else recipe
    if r.pipeline == "A":
        return len(DataLoader(range(images), batch_size=r.batch_size))
    tiny = torch.zeros(images, 1, 1, dtype=torch.uint8)  # only the count matters
    loader = DeviceLoader(tiny, torch.zeros(images, dtype=torch.long), r.batch_size,
                          device=torch.device("cpu"), drop_last=True)
    return len(loader)


def total_steps(recipe: str = "fast") -> int:
    """Optimizer steps in the whole run."""
    return steps_per_epoch(recipe) * get_recipe(recipe).epochs


def _learning_rates(recipe: str) -> list[float]:
    r = get_recipe(recipe)
    schedule = step_schedule(r, build_model(r.model), steps_per_epoch(recipe))
    return [lr for epoch in schedule for lr, _ in epoch]


def first_learning_rate(recipe: str = "fast") -> float:
    """The learning rate of the run's first step."""
    return _learning_rates(recipe)[0]


def peak_step(recipe: str = "fast") -> int:
    """The step (counted from 1) at which the learning rate is highest."""
    rates = _learning_rates(recipe)
    return rates.index(max(rates)) + 1


def changed_target_gradient(weight: str = "w5") -> float:
    """∂E_total/∂weight of the class network with CHANGED_TARGETS, from the SymPy derivation."""
    from ..backprop import network  # only here: Part 2's modules do not load the symbolic network

    return float(network.forward_pass(network.CLASS_VALUES | CHANGED_TARGETS)[f"∂E/∂{weight}"])


def _class_target_gradient(weight: str) -> float:
    from ..backprop import network

    return float(network.forward_pass(network.CLASS_VALUES)[f"∂E/∂{weight}"])


def _block_channels(variant: str, block: int) -> tuple[int, int]:
    channels = get_spec(variant).channels
    return (1 if block == 1 else channels[block - 2]), channels[block - 1]


def _steps_keeping_the_last_batch(recipe: str) -> int:
    r = get_recipe(recipe)
    return len(DataLoader(range(TRAIN_IMAGES), batch_size=r.batch_size)) * r.epochs


# The number a likely slip gives, by exercise (and box, where one exercise has two) and slip.
LIKELY_MISTAKES = {
    "ex-net6-parameters": {
        "no batchnorm": lambda: parameters_by_layer(build_model(NARROW))["conv4"],
        "batchnorm buffers": lambda: block_parameters() + 2 * _block_channels(NARROW, 4)[1],
        "no bias": lambda: block_parameters() - _block_channels(NARROW, 4)[1],
        "net6": lambda: block_parameters("net6"),
    },
    "ex-net6-receptive-field": {
        "net6": lambda: head_receptive_field("net6"),
    },
    "ex-net6-no-batchnorm": {
        "batchnorm buffers": lambda: 2 * batchnorm_parameters(),
        "one per channel": lambda: batchnorm_parameters() / 2,
    },
    "ex-training-targets": {
        "class targets": lambda: _class_target_gradient("w5"),
    },
    "ex-training-steps": {
        "last batch kept": lambda: _steps_keeping_the_last_batch("fast"),
        "one epoch": lambda: steps_per_epoch("fast"),
    },
    "ex-training-one-cycle-peak": {
        "from 0": lambda: peak_step() - 1,
        "last batch kept": lambda: round(get_recipe("fast").pct_start * _steps_keeping_the_last_batch("fast")),
    },
    "ex-training-one-cycle-first": {
        "peak": lambda: get_recipe("fast").lr,
    },
}


def likely_mistake(label: str, slip: str) -> float:
    """The number exercise `label`'s likely `slip` gives; KeyError names the slips there are."""
    slips = LIKELY_MISTAKES.get(label, {})
    if slip not in slips:
        raise KeyError(f"no slip {slip!r} for {label!r}: there are {', '.join(slips) or 'none'}")
    return float(slips[slip]())
