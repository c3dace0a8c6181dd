import dataclasses
import subprocess

import pytest
import torch

from s6lib import engine, provenance, train
from s6lib.data import device_loaders
from s6lib.models import build_model
from s6lib.recipes import RECIPES, ConfigError
from s6lib.records import load_record

from conftest import numbers, small_run

pytestmark = pytest.mark.usefixtures("one_thread")  # small steps share two cores badly

CPU = torch.device("cpu")


@pytest.mark.parametrize("recipe_name", ["seed", "fast"])  # pipeline A and pipeline B
def test_the_same_seed_gives_the_same_numbers_twice(recipe_name, mnist_root):
    first, second = small_run(mnist_root, recipe_name), small_run(mnist_root, recipe_name)
    assert first["status"] == "complete"
    assert numbers(first) == numbers(second)
    assert first["misclassified"] == second["misclassified"]
    assert first["config_fingerprint"] == second["config_fingerprint"]


def test_one_epoch_on_a_few_hundred_images_lowers_the_loss(mnist_root):
    recipe = dataclasses.replace(RECIPES["fast"], batch_size=32, epochs=1)
    train_loader, test_loader = device_loaders(recipe, root=mnist_root, device=CPU, seed=0,
                                               limit_train=512, limit_test=512)
    train.set_seed(0)
    model = build_model("net6")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    before, _ = engine.test(model, test_loader, CPU)
    loss, acc = engine.train(model, train_loader, optimizer, CPU)
    after, after_acc = engine.test(model, test_loader, CPU)
    assert after < before - 0.3, (before, after)
    assert 0 <= acc <= 100 and after_acc > 30


def test_a_run_writes_a_valid_record_with_its_history(mnist_root, tmp_path):
    record = small_run(mnist_root, "seed", tmp_path / "seed.json", step_size=1, gamma=0.1)
    assert load_record(tmp_path / "seed.json") == record
    assert [row["lr"] for row in record["epochs"]] == pytest.approx([0.01, 0.001])  # StepLR, per epoch
    assert record["model"]["parameters"] == 17_022
    assert record["config"]["seed"] == 3 and record["config"]["limit_train"] == 256
    assert all(0 <= i < 256 and 0 <= p < 10 for i, p in record["misclassified"])
    assert record["environment"]["torch"] == torch.__version__


def test_onecycle_steps_per_batch(mnist_root):
    record = small_run(mnist_root)
    first, second = (row["lr"] for row in record["epochs"])
    assert first == pytest.approx(RECIPES["fast"].lr / 25)  # OneCycleLR's initial lr: max_lr / div_factor
    assert second > first


def test_a_non_finite_loss_stops_the_run_and_says_where(mnist_root, tmp_path, monkeypatch):
    real_step, calls = engine.train_step, []

    def poisoned_step(model, optimizer, x, y, metrics, *args):
        calls.append(1)
        if len(calls) == 4 + 2:  # epoch 2 (4 steps of 64 per epoch), step 1
            next(model.parameters()).data.fill_(float("nan"))
        real_step(model, optimizer, x, y, metrics, *args)

    monkeypatch.setattr(engine, "train_step", poisoned_step)
    record = small_run(mnist_root, out=tmp_path / "fast.json", epochs=3)
    assert record["status"] == "diverged"
    assert record["diverged_at"] == {"epoch": 2, "step": 1}
    assert len(record["epochs"]) == 1 and "non-finite loss at step 1 in epoch 2" in record["message"]
    assert load_record(tmp_path / "fast.json")["status"] == "diverged"


def test_a_too_large_lr_diverges(mnist_root):
    record = small_run(mnist_root, lr=1e6, epochs=4)
    assert record["status"] == "diverged" and record["diverged_at"]["epoch"] == len(record["epochs"]) + 1


def test_metrics_remember_the_first_non_finite_step():
    metrics = engine.Metrics(CPU)
    output, target = torch.zeros(2, 10), torch.zeros(2, dtype=torch.long)
    for loss in (1.0, float("nan"), float("inf"), 1.0):
        metrics.update(torch.tensor(loss), output, target)
    assert metrics.read()[2] == 1


def test_dry_run_is_one_short_epoch(mnist_root):
    record = train.run(RECIPES["fast"], seed=1, device="cpu", data_root=mnist_root, dry_run=True, log=lambda *a: None)
    assert record["status"] == "complete" and len(record["epochs"]) == 1
    assert record["config"]["limit_train"] == train.DRY_RUN_BATCHES * RECIPES["fast"].batch_size


def test_devices_are_checked_with_the_choices_listed():
    assert train.resolve_device("cpu") == CPU
    with pytest.raises(ConfigError, match="choose from: auto, cpu, cuda"):
        train.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            train.resolve_device("cuda")


def test_bad_settings_are_refused_before_any_work():
    with pytest.raises(ConfigError, match="lr=-0.1"):
        train.run(dataclasses.replace(RECIPES["seed"], lr=-0.1), device="cpu")
    with pytest.raises(ConfigError, match="limit_train=0"):
        train.run(RECIPES["seed"], device="cpu", limit_train=0)


def test_git_info_is_none_outside_a_checkout(monkeypatch):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    assert set(provenance.git_info()) == {"commit", "dirty"}  # whatever this checkout is, no crash
    monkeypatch.setattr(subprocess, "run", no_git)
    assert provenance.git_info() == {"commit": None, "dirty": None}


def test_environment_names_the_device():
    env = provenance.run_environment(CPU)
    assert env["device"] == "cpu" and "cores" in env["device_name"]
    assert env["cudnn"] is None
