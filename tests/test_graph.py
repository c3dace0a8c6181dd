"""The CUDA-graph step's logic, run eagerly on the CPU (nothing captured), and the engine and precision choice."""

import dataclasses

import pytest
import torch

from s6lib.__main__ import main
from s6lib.mnist import engine, graph, train
from s6lib.mnist.data import ENV_VAR, DeviceLoader
from s6lib.mnist.models import build_model
from s6lib.mnist.recipes import RECIPES, ConfigError

import conftest
from conftest import numbers

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("momentum, weight_decay, nesterov", [(0.9, 5e-4, True), (0.9, 0.0, False), (0.0, 1e-3, False)])
def test_sgd_is_torchs_sgd_with_the_settings_in_tensors(momentum, weight_decay, nesterov):
    gen = torch.Generator().manual_seed(0)
    ours = [torch.randn(3, 4, generator=gen, requires_grad=True), torch.randn(5, generator=gen, requires_grad=True),
            torch.randn(2, requires_grad=True)]  # the last never gets a gradient: left alone
    theirs = [p.detach().clone().requires_grad_() for p in ours]
    optimizer = torch.optim.SGD(theirs, lr=0.1, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov)
    buffers = [torch.zeros_like(p) for p in ours]
    for step in range(6):
        lr, mom = 0.1 / (step + 1), momentum * (1 - 0.05 * step)  # both change every step, as OneCycleLR's do
        optimizer.param_groups[0].update(lr=lr, momentum=mom)
        for a, b in zip(ours[:2], theirs[:2]):
            a.grad = torch.randn(a.shape, generator=gen)
            b.grad = a.grad.clone()
        optimizer.step()
        graph.sgd(ours, buffers, torch.tensor(lr), torch.tensor(mom), weight_decay=weight_decay, nesterov=nesterov)
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    assert torch.equal(ours[2], theirs[2])


@pytest.mark.parametrize("recipe_name", ["seed", "fast"])  # StepLR per epoch; OneCycleLR per step
def test_the_step_schedule_is_what_the_eager_scheduler_sets(recipe_name):
    recipe = dataclasses.replace(RECIPES[recipe_name], epochs=4, step_size=2)
    schedule = engine.step_schedule(recipe, build_model("net6"), 5)
    lrs = [lr for row in schedule for lr, _ in row]
    momenta = [m for row in schedule for _, m in row]
    assert len(schedule) == 4 and all(len(row) == 5 for row in schedule)
    if recipe_name == "seed":
        assert lrs == pytest.approx([0.01] * 10 + [0.001] * 10) and set(momenta) == {0.9}
    else:
        peak = lrs.index(max(lrs))
        assert lrs[0] == pytest.approx(recipe.lr / 25) and max(lrs) == pytest.approx(recipe.lr)  # div_factor 25
        assert peak == round(recipe.pct_start * 20) - 1 and lrs[-1] < lrs[0] / 100
        assert set(momenta) == {recipe.momentum}  # the recipe's momentum holds: OneCycleLR cycles only the lr


@pytest.mark.parametrize("momentum", [0.8, 0.95])
def test_a_recipes_momentum_is_the_momentum_the_optimizer_uses(momentum):
    recipe = dataclasses.replace(RECIPES["fast"], momentum=momentum, epochs=2)
    model = build_model(recipe.model)
    optimizer = engine.make_optimizer(recipe, model)
    scheduler, _ = engine.make_scheduler(recipe, optimizer, 10)
    for _ in range(15):
        assert optimizer.param_groups[0]["momentum"] == momentum
        optimizer.step()
        scheduler.step()


def synthetic_loader(recipe, n=256, seed=5):
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, 10, (n,), generator=gen)
    return DeviceLoader(images, labels, recipe.batch_size, device=CPU, augment=recipe.augment, shuffle=True,
                        drop_last=True, seed=seed)


@pytest.mark.parametrize("recipe_name", ["seed", "fast"])
def test_the_graph_step_trains_as_the_eager_step_does(recipe_name):
    # A small lr: at 0.002 and more, rounding differences of 1e-7 (torch's SGD fuses its multiply-adds)
    # can grow chaotically on random data, to 1e-3 in three epochs. At 0.001 they stay near 1e-7, while
    # a schedule one step late, or OneCycleLR's momentum left out, moves the weights by 1e-3 or more.
    recipe = dataclasses.replace(RECIPES[recipe_name], pipeline="B", epochs=3, batch_size=64, lr=0.001)
    train.set_seed(5)
    model, loader = build_model(recipe.model), synthetic_loader(recipe)
    optimizer = engine.make_optimizer(recipe, model)
    scheduler, per_batch = engine.make_scheduler(recipe, optimizer, len(loader))
    eager = []
    for _ in range(recipe.epochs):  # the eager engine, its metrics read after every step and summed on the host
        lr, loss_sum, correct, count = optimizer.param_groups[0]["lr"], 0.0, 0.0, 0
        model.train()
        for x, y in loader:
            metrics = engine.Metrics(CPU)
            engine.train_step(model, optimizer, x, y, metrics)
            loss, acc, _ = metrics.read()
            loss_sum, correct, count = loss_sum + loss * len(y), correct + acc * len(y), count + len(y)
            if per_batch:
                scheduler.step()
        if not per_batch:
            scheduler.step()
        eager.append((lr, loss_sum / count, correct / count))

    train.set_seed(5)
    graph_model = build_model(recipe.model)
    step = graph.GraphStep(graph_model, synthetic_loader(recipe), recipe, engine.FLOAT32)
    graphed = [step.train_epoch(epoch) for epoch in range(1, recipe.epochs + 1)]
    assert [lr for lr, _, _ in graphed] == [lr for lr, _, _ in eager]
    for ours, theirs in zip(graphed, eager):
        assert ours == pytest.approx(theirs, rel=1e-5)
    for ours, theirs in zip(graph_model.state_dict().values(), model.state_dict().values()):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


def test_a_tiny_set_is_one_short_batch_as_in_the_eager_loader():
    recipe = dataclasses.replace(RECIPES["fast"], batch_size=64, epochs=1)
    step = graph.GraphStep(build_model("net6"), synthetic_loader(recipe, n=40), recipe, engine.FLOAT32)
    assert step.order.shape == (1, 40)
    step.train_epoch(1)
    assert step.metrics.count.item() == 40 and sorted(step.order[0].tolist()) == list(range(40))


def small_run(mnist_root, **changes):
    """conftest's small run at a small lr in float32: where the graph and eager engines agree to 1e-5."""
    return conftest.small_run(mnist_root, **{"lr": 0.001, "precision": "float32", **changes})


@pytest.fixture
def graph_on_cpu(monkeypatch):
    """The run loop's graph engine on the CPU: chosen as on CUDA, its step run eagerly (never captured)."""
    monkeypatch.setattr(train, "select_engine", lambda engine, recipe, device: (True, None))
    monkeypatch.setattr(graph.GraphStep, "capture", lambda self: 0.0)


def test_a_graph_engine_run_gives_the_eager_runs_numbers(mnist_root, graph_on_cpu, monkeypatch):
    graphed = small_run(mnist_root)
    assert graphed["engine"] == {"step": "cuda-graph", "precision": "float32", "fallback": "float32 as asked",
                                 "capture_seconds": 0.0}
    monkeypatch.undo()
    eager = small_run(mnist_root, engine="eager")
    assert graphed["status"] == eager["status"] == "complete"
    assert [row["lr"] for row in graphed["epochs"]] == [row["lr"] for row in eager["epochs"]]
    for ours, theirs in zip(numbers(graphed), numbers(eager)):
        assert ours == pytest.approx(theirs, rel=1e-5)


def test_a_graph_engine_run_stops_where_the_eager_run_diverges(mnist_root, graph_on_cpu, monkeypatch):
    graphed = small_run(mnist_root, lr=1e4, epochs=4)
    monkeypatch.undo()
    eager = small_run(mnist_root, lr=1e4, epochs=4, engine="eager")
    assert graphed["status"] == eager["status"] == "diverged"
    assert graphed["diverged_at"] == eager["diverged_at"]


def test_a_failed_capture_falls_back_to_eager_for_the_whole_run(mnist_root, monkeypatch):
    def no_capture(self):
        raise RuntimeError("operation not permitted when stream is capturing\n(details)")

    monkeypatch.setattr(train, "select_engine", lambda engine, recipe, device: (True, None))
    monkeypatch.setattr(graph.GraphStep, "capture", no_capture)
    record = small_run(mnist_root)
    assert record["engine"] == engine.engine_record(
        "eager", "float32", "capture failed: RuntimeError: operation not permitted when stream is capturing (details)",
        "float32 as asked")
    monkeypatch.undo()
    assert numbers(record) == numbers(small_run(mnist_root, engine="eager"))


def test_the_engine_is_chosen_by_device_and_pipeline():
    cuda, cpu, b, a = torch.device("cuda"), CPU, RECIPES["fast"], RECIPES["seed"]
    assert engine.select_engine("auto", b, cuda) == (True, None)
    assert engine.select_engine("graph", b, cuda) == (True, None)
    assert engine.select_engine("auto", b, cpu) == (False, "no CUDA device")
    assert engine.select_engine("auto", a, cuda) == (False, "pipeline A feeds batches from a DataLoader")
    assert engine.select_engine("eager", b, cuda) == (False, None)
    with pytest.raises(ConfigError, match="engine 'graph' cannot run here: no CUDA device"):
        engine.select_engine("graph", b, cpu)
    with pytest.raises(ConfigError, match="engine 'graph' cannot run here: pipeline A"):
        engine.select_engine("graph", a, cuda)
    with pytest.raises(ConfigError, match="unknown engine 'turbo'; choose from: auto, eager, graph"):
        engine.select_engine("turbo", b, cuda)


def test_records_say_which_engine_ran_and_why(mnist_root):
    eager = {"step": "eager", "precision": "float32", "capture_seconds": None}
    assert small_run(mnist_root, epochs=1)["engine"] == {**eager, "fallback": "no CUDA device; float32 as asked"}
    assert small_run(mnist_root, epochs=1, engine="eager")["engine"] == {**eager, "fallback": "float32 as asked"}
    auto = small_run(mnist_root, epochs=1, engine="eager", precision="auto")["engine"]
    if engine.native_bf16(CPU):
        assert auto == {**eager, "precision": "bf16-autocast", "fallback": None}
    else:
        assert auto == {**eager, "fallback": "float32: cpu has no native bf16 (no AVX512-BF16 or AMX)"}


def test_precision_is_bf16_only_where_the_device_computes_it(monkeypatch):
    monkeypatch.setattr(engine, "native_bf16", lambda device: True)
    assert engine.select_precision("auto", CPU) == ("bf16-autocast", None)
    assert engine.select_precision("bf16", CPU) == ("bf16-autocast", None)
    assert engine.select_precision("float32", CPU) == ("float32", "float32 as asked")
    monkeypatch.setattr(engine, "native_bf16", lambda device: False)
    assert engine.select_precision("auto", CPU) == ("float32",
                                                    "float32: cpu has no native bf16 (no AVX512-BF16 or AMX)")
    with pytest.raises(ConfigError,
                       match="precision 'bf16' cannot run here: cpu has no native bf16.*use --precision auto"):
        engine.select_precision("bf16", CPU)
    with pytest.raises(ConfigError, match="unknown precision 'fp8'; choose from: auto, bf16, float32"):
        engine.select_precision("fp8", CPU)


@pytest.mark.skipif(not engine.native_bf16(CPU), reason="this CPU has no native bf16")
def test_a_bf16_run_learns_as_a_float32_run_does(mnist_root):
    """bf16 autocast changes the rounding, not the training: on the same seed the two runs
    end close (the seed-to-seed comparison over whole runs is in the bf16 check's records)."""
    bf16 = small_run(mnist_root, precision="bf16", lr=0.05, epochs=2)
    float32 = small_run(mnist_root, precision="float32", lr=0.05, epochs=2)
    assert bf16["engine"]["precision"] == "bf16-autocast" and float32["engine"]["precision"] == "float32"
    for ours, theirs in zip(bf16["epochs"], float32["epochs"]):
        assert ours["train_loss"] == pytest.approx(theirs["train_loss"], rel=0.1)
        assert abs(ours["test_acc"] - theirs["test_acc"]) < 5


def test_graph_on_the_cpu_is_refused_before_any_work(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "no-mnist-here"))  # reaching the data would fail differently
    assert main(["train", "--recipe", "fast", "--device", "cpu", "--engine", "graph", "--dry-run"]) == 2
    assert "engine 'graph' cannot run here: no CUDA device; use --engine auto or eager" in capsys.readouterr().err
