"""Every numeric answer of Part 2's exercises, against a computation of its own."""

import json
import math

import pytest

from s6lib.backprop.network import CLASS_VALUES, autograd_gradients
from s6lib.mnist import answers as mx
from s6lib.mnist.receptive_field import measured_receptive_fields
from s6lib.mnist.recipes import get_recipe
from s6lib.mnist.specs import get_spec

from conftest import ROOT


def test_block_parameters_by_the_formula():
    """A 3×3 convolution from c_in to c_out channels: 9·c_in·c_out weights and c_out biases; its
    BatchNorm: a scale and a shift per channel."""
    channels = get_spec(mx.NARROW).channels
    c_in, c_out = channels[2], channels[3]  # block 4 reads block 3's output
    assert (c_in, c_out) == (16, 32)
    assert mx.block_parameters() == 9 * c_in * c_out + c_out + 2 * c_out == 4_704


def test_batchnorm_parameters_are_two_per_channel():
    assert mx.batchnorm_parameters("net6") == 2 * sum(get_spec("net6").channels) == 188


def test_the_head_receptive_field_is_the_one_autograd_measures():
    assert mx.head_receptive_field() == measured_receptive_fields(mx.POOL_EARLY)["conv5"] == 26


def test_steps_per_epoch_by_arithmetic():
    fast, original = get_recipe("fast"), get_recipe("seed")
    assert (fast.pipeline, original.pipeline) == ("B", "A")
    assert mx.steps_per_epoch("fast") == mx.TRAIN_IMAGES // fast.batch_size == 468  # last partial batch dropped
    assert mx.steps_per_epoch("seed") == math.ceil(mx.TRAIN_IMAGES / original.batch_size) == 118  # kept
    assert mx.total_steps("fast") == 468 * fast.epochs == 7_020


def test_the_one_cycle_schedule_starts_and_peaks_where_its_definition_says():
    """OneCycleLR starts at max_lr / div_factor (25 by default) and reaches max_lr at the end of
    its warm-up: its 0-based step pct_start·total − 1, which is step pct_start·total counted from 1."""
    fast = get_recipe("fast")
    assert mx.first_learning_rate() == pytest.approx(fast.lr / 25)
    assert mx.peak_step() == round(fast.pct_start * mx.total_steps()) == 1_404


def test_the_changed_target_gradient_is_autograds():
    ours = mx.changed_target_gradient("w5")
    assert ours == pytest.approx(autograd_gradients(CLASS_VALUES | mx.CHANGED_TARGETS)["∂E/∂w5"], abs=1e-12)
    assert ours != pytest.approx(autograd_gradients(CLASS_VALUES)["∂E/∂w5"])  # the targets matter


def _markdown(page: str) -> str:
    nb = json.loads((ROOT / f"book/mnist/{page}.ipynb").read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_the_exercises_state_the_question_the_library_answers():
    """The givens typed into an exercise's text are the library's: the variant's channels, the targets."""
    net6_page, training_page = _markdown("net6"), _markdown("training")
    channels = ", ".join(map(str, get_spec(mx.NARROW).channels))
    assert f"`{mx.NARROW}` has the channels {channels}" in net6_page
    assert f"`{mx.POOL_EARLY}` moves the first max-pool" in net6_page
    assert get_spec(mx.POOL_EARLY).pool_after == (0, 3)
    assert f"$t_1 = {mx.CHANGED_TARGETS['t1']:g}$" in training_page
    assert f"$t_2 = {mx.CHANGED_TARGETS['t2']:g}$" in training_page
    assert f"{mx.TRAIN_IMAGES:,} training images" in training_page
