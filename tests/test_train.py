import dataclasses
import os
import subprocess

import pytest
import torch

from s6lib.lab import provenance, records
from s6lib.lab.records import load_record
from s6lib.mnist import engine, recipes, train
from s6lib.mnist.data import device_loaders
from s6lib.mnist.models import build_model
from s6lib.mnist.recipes import RECIPES, ConfigError

from conftest import CHECKPOINT, ROOT, numbers, small_run

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
    assert record["config"]["limit_train"] == recipes.DRY_RUN_BATCHES * RECIPES["fast"].batch_size


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


def test_git_info_asks_about_all_of_s6lib(monkeypatch):
    calls = []

    def fake_git(args, cwd, **kwargs):
        calls.append((args, cwd))
        return subprocess.CompletedProcess(args, 0, stdout=" M s6lib/mnist/train.py\n")

    monkeypatch.setattr(subprocess, "run", fake_git)
    assert provenance.git_info()["dirty"] is True
    assert {cwd for _, cwd in calls} == {ROOT / "s6lib"} and calls[-1][0][-2:] == ["--", "."]


def test_environment_names_the_device():
    env = provenance.run_environment(CPU)
    assert env["device"] == "cpu" and "cores" in env["device_name"]
    assert env["cudnn"] is None


# --- issue 20: nothing lost to a bad output path, one writer, bad settings refused first ----------

NO_DATA = "no-mnist-here"  # a data root with nothing in it: a test that reaches the data fails on it


def quick(tmp_path, **kwargs) -> dict:
    """train.run on the fast recipe on the CPU, with `kwargs`; no data unless given."""
    return train.run(RECIPES["fast"], **{"device": "cpu", "data_root": tmp_path / NO_DATA, "progress": False,
                                         "log": lambda *a: None, **kwargs})


@pytest.mark.parametrize("where, problem", [
    (lambda tmp: {"out": tmp}, "the run record .* is a folder"),
    (lambda tmp: {"out": tmp / "file.txt" / "r.json"}, "the run record .*file.txt/r.json cannot be written"),
    (lambda tmp: {"out": tmp / "r.json", "save_model": tmp}, "the weights .* is a folder"),
    (lambda tmp: {"save_model": tmp / "file.txt" / "w.pt"}, "the weights .* cannot be written"),
])
def test_a_bad_output_path_is_refused_before_any_work(tmp_path, where, problem):
    (tmp_path / "file.txt").write_text("a file where a folder goes")
    with pytest.raises(ConfigError, match=problem):
        quick(tmp_path, **where(tmp_path))  # not DataError: refused before the data is looked for
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_a_read_only_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    if os.geteuid() == 0:  # root writes into read-only folders: the kernel's answer to anyone else, then
        def denied(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(train.tempfile, "mkstemp", denied)
    with pytest.raises(ConfigError, match=r"the run record .*ro/r.json cannot be written \(Permission denied\)"):
        quick(tmp_path, out=folder / "r.json")


def test_a_final_record_that_cannot_be_written_is_not_left_running(mnist_root, tmp_path, monkeypatch):
    real, failed = records.write_record, []

    def fails_once_at_the_end(record, path):
        if record["finished_utc"] and not failed:
            failed.append(path)
            raise OSError(5, "Input/output error")
        return real(record, path)

    monkeypatch.setattr(records, "write_record", fails_once_at_the_end)
    out = tmp_path / "r.json"
    with pytest.raises(train.RunFailed, match=r"could not write the run record .*r.json \(Input/output error\); "
                                              r"the file there now says the run stopped"):
        quick(tmp_path, data_root=mnist_root, dry_run=True, out=out)
    record = load_record(out)
    assert failed and record["status"] == "interrupted" and "could not be written" in record["message"]


def test_a_record_another_process_writes_is_refused_naming_it(tmp_path):
    out = tmp_path / "r.json"
    with records.WriteLock(out):
        with pytest.raises(records.RecordInUse, match=rf"r.json is being written by process {os.getpid()}"):
            quick(tmp_path, out=out)


@pytest.mark.parametrize("change, problem", [
    ({"seed": -1}, r"seed -1: must be in 0..4294967295"),
    ({"seed": 2**32}, r"seed 4294967296: must be in 0..4294967295"),
    ({"recipe": dataclasses.replace(RECIPES["fast"], lr=float("inf"))}, r"lr must be a finite number"),
    ({"recipe": dataclasses.replace(RECIPES["fast"], weight_decay=float("inf"))}, r"weight_decay must be a finite"),
])
def test_settings_numpy_or_json_cannot_take_are_refused_before_any_work(tmp_path, change, problem):
    recipe = change.pop("recipe", RECIPES["fast"])
    with pytest.raises(ConfigError, match=problem):
        train.run(recipe, device="cpu", data_root=tmp_path, out=tmp_path / "r.json", **change)
    assert list(tmp_path.iterdir()) == []




@pytest.mark.parametrize("make, problem", [
    (lambda p: p.write_bytes(b"not a checkpoint at all"), "is not a checkpoint saved by `train --save-model`"),
    (lambda p: p.write_bytes(CHECKPOINT.read_bytes()[:30_000]), "is not a checkpoint saved by `train --save-model`"),
    (lambda p: p.mkdir(), "is a folder, not a file"),
    (lambda p: torch.save({"model": "net6-no-bn", **{k: v for k, v in torch.load(CHECKPOINT).items() if k != "model"}},
                          p), "do not fit model 'net6-no-bn'"),
    (lambda p: torch.save({"state_dict": {}}, p), "lacks the model name, config fingerprint or weights"),
])
def test_a_bad_checkpoint_is_named_and_never_loaded_unsafely(tmp_path, make, problem):
    path = tmp_path / "w.pt"
    make(path)
    with pytest.raises(train.CheckpointError, match=problem) as info:
        train.load_checkpoint(path)
    assert str(path) in str(info.value) and "weights_only" not in str(info.value)


def test_a_checkpoint_beside_another_runs_record_is_refused(tmp_path):
    assert train.checkpoint_record(CHECKPOINT)["config_fingerprint"]  # the committed pair matches
    (tmp_path / "w.pt").write_bytes(CHECKPOINT.read_bytes())
    with pytest.raises(train.CheckpointError, match="has no run record at"):
        train.checkpoint_record(tmp_path / "w.pt")
    (tmp_path / "w.json").write_bytes((ROOT / "book/runs/cpu/seed-s1.json").read_bytes())
    with pytest.raises(train.CheckpointError, match="was not saved by the run of .*w.json"):
        train.checkpoint_record(tmp_path / "w.pt")
