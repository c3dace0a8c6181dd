"""The training chapter's loop (s6lib.mnist.loop) does what the engine does, step for step."""

import pytest
import torch

from s6lib.mnist import engine, loop
from s6lib.mnist.models import Net6, build_model
from s6lib.mnist.recipes import get_recipe

FAST = get_recipe("fast")


def batches(n: int, size: int = 16, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(size, 1, 28, 28, generator=g), torch.randint(0, 10, (size,), generator=g))
            for _ in range(n)]


def twins(model_name: str = FAST.model) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    a = build_model(model_name)
    b = build_model(model_name)
    b.load_state_dict(a.state_dict())
    return a, b


def assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(x, y), f"{name} differs after the same steps"


def test_one_step_of_the_chapters_loop_is_the_engines_step(one_thread):
    ours, theirs = twins()
    data = batches(1)
    opt_ours, opt_theirs = engine.make_optimizer(FAST, ours), engine.make_optimizer(FAST, theirs)
    torch.manual_seed(7)  # the same dropout masks for both
    loss, acc = loop.train_epoch(ours, data, opt_ours)
    torch.manual_seed(7)
    theirs.train()
    metrics = engine.Metrics(torch.device("cpu"))
    engine.train_step(theirs, opt_theirs, *data[0], metrics)
    assert_same_state(ours, theirs)  # weights and BatchNorm's running statistics
    their_loss, their_acc, _ = metrics.read()
    assert loss == pytest.approx(their_loss, rel=1e-6) and acc == their_acc


def test_an_epoch_with_the_one_cycle_schedule_is_the_engines_epoch(one_thread):
    ours, theirs = twins()
    data = batches(4)
    opt_ours, opt_theirs = engine.make_optimizer(FAST, ours), engine.make_optimizer(FAST, theirs)
    sched_ours, _ = engine.make_scheduler(FAST, opt_ours, len(data))
    sched_theirs, _ = engine.make_scheduler(FAST, opt_theirs, len(data))
    torch.manual_seed(7)
    loss, acc = loop.train_epoch(ours, data, opt_ours, sched_ours)
    torch.manual_seed(7)
    their_loss, their_acc = engine.train(theirs, data, opt_theirs, torch.device("cpu"), sched_theirs)
    assert_same_state(ours, theirs)
    assert opt_ours.param_groups[0]["lr"] == opt_theirs.param_groups[0]["lr"]
    assert (loss, acc) == pytest.approx((their_loss, their_acc), rel=1e-6)


def test_evaluation_is_the_engines_test_and_learns_nothing(one_thread):
    model, _ = twins()
    data = batches(3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loss, acc = loop.evaluate(model, data)
    assert (loss, acc) == pytest.approx(engine.test(model, data, torch.device("cpu")), rel=1e-6)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # eval mode: stats untouched
    assert not model.training


def test_the_loop_trains_the_hand_written_net6_too(one_thread):
    """The loop takes any module that returns log-probabilities: a few steps on one repeated batch
    lower its loss on that batch."""
    torch.manual_seed(0)
    model = Net6(dropout=0.0)
    data = batches(1, size=32) * 8
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    first, _ = loop.evaluate(model, data[:1])
    loop.train_epoch(model, data, optimizer)
    last, _ = loop.evaluate(model, data[:1])
    assert last < first

