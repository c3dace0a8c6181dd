import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import torch

from s6lib.__main__ import main
from s6lib.lab.records import load_record
from s6lib.mnist import recipes
from s6lib.mnist.data import ENV_VAR, RAW_MD5

pytestmark = pytest.mark.usefixtures("one_thread")  # small steps share two cores badly


def fails(argv, capsys) -> str:
    """Run the CLI, expect exit status 2, return stderr."""
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    return err


def test_unknown_recipe_lists_the_choices(capsys):
    err = fails(["train", "--recipe", "turbo"], capsys)
    assert "'turbo'" in err and "'original'" in err and "'fast'" in err


def test_unknown_device_lists_the_choices(capsys):
    err = fails(["train", "--device", "tpu", "--dry-run"], capsys)
    assert "unknown device 'tpu'; choose from: auto, cpu, cuda, cuda:N, mps" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_a_clear_error(capsys):
    assert "CUDA is not available" in fails(["train", "--device", "cuda", "--dry-run"], capsys)


def test_a_bad_learning_rate_is_a_clear_error(capsys):
    assert "lr=-0.5 must be > 0" in fails(["train", "--lr", "-0.5", "--device", "cpu"], capsys)
    assert "invalid float value" in fails(["train", "--lr", "fast"], capsys)


def test_missing_data_without_network_names_the_setting(capsys, monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    err = fails(["train", "--device", "cpu", "--dry-run", "--out", str(tmp_path / "r.json")], capsys)
    assert f"Set {ENV_VAR} to a folder" in err and "download failed" in err
    assert not (tmp_path / "r.json").exists()


def test_a_corrupt_file_is_an_md5_error(capsys, monkeypatch, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in RAW_MD5:
        (raw / name).write_bytes(b"\0" * 16)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    err = fails(["data"], capsys)
    assert "train-images-idx3-ubyte is corrupt: md5" in err


def test_train_dry_run_writes_a_valid_record(mnist_root, capsys, tmp_path):
    out = tmp_path / "dry.json"
    assert main(["train", "--recipe", "original", "--device", "cpu", "--dry-run", "--workers", "0",
                 "--data-root", str(mnist_root), "--out", str(out)]) == 0
    assert f"complete: wrote {out}" in capsys.readouterr().out
    record = load_record(out)
    assert record["config"]["dry_run"] and record["config"]["recipe"]["epochs"] == 1
    # "original" is what readers call it; the record keeps the stored name its fingerprint was made with
    assert record["config"]["recipe"]["name"] == "seed"


def test_the_recipe_option_takes_readers_names_only(capsys):
    assert recipes.get_recipe("original") is recipes.get_recipe("seed") is recipes.RECIPES["seed"]
    assert recipes.display_name("seed") == "original" and recipes.stored_name("original") == "seed"
    assert recipes.display_name("fast") == recipes.stored_name("fast") == "fast"
    err = fails(["train", "--recipe", "seed"], capsys)  # the stored name, which also means a random seed
    assert "invalid choice: 'seed'" in err


def test_sweep_writes_one_record_per_model_and_seed_and_resumes(mnist_root, capsys, tmp_path):
    argv = ["sweep", "--recipe", "fast", "--device", "cpu", "--seeds", "1", "2", "--models", "net6", "net6-no-bn",
            "--epochs", "1", "--limit-train", "256", "--limit-test", "128", "--jobs", "1", "--out-dir", str(tmp_path)]
    assert main(argv) == 0
    names = sorted(os.listdir(tmp_path))
    assert names == ["fast-net6-no-bn-s1.json", "fast-net6-no-bn-s2.json", "fast-net6-s1.json", "fast-net6-s2.json"]
    assert load_record(tmp_path / "fast-net6-no-bn-s2.json")["config"]["seed"] == 2
    capsys.readouterr()
    assert main(argv) == 0
    assert capsys.readouterr().out.count("skipped (--force reruns it)") == 4
    other = [*argv, "--seeds", "1", "--models", "net6", "--limit-test", "64"]  # another config: kept, unless --force
    assert main(other) == 2 and "holds a complete run of another config" in capsys.readouterr().err
    assert main([*other, "--force"]) == 0
    assert load_record(tmp_path / "fast-net6-s1.json")["config"]["limit_test"] == 64


def test_summary_prints_both_tables(capsys):
    assert main(["summary", "--model", "net6-original"]) == 0
    out = capsys.readouterr().out
    assert "17,672 held, 17,022 in layers that run" in out
    assert "rf" in out and "gap" in out


@pytest.mark.slow
def test_module_entry_point_shows_help_with_defaults():
    result = subprocess.run([sys.executable, "-m", "s6lib", "train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "--dry-run" in result.stdout and "(default: original)" in result.stdout


@pytest.mark.slow
def test_one_full_epoch_of_the_seed_recipe_from_the_command_line(mnist_root, tmp_path):
    """The engine's acceptance command, as a user types it: all 60,000 images, one epoch, on the CPU."""
    out = tmp_path / "seed-1epoch.json"
    result = subprocess.run([sys.executable, "-m", "s6lib", "train", "--recipe", "original", "--epochs", "1",
                             "--device", "cpu", "--no-progress", "--out", str(out)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    record = load_record(out)
    assert record["status"] == "complete" and len(record["epochs"]) == 1
    assert record["config"]["limit_train"] is None and record["config"]["recipe"]["name"] == "seed"
    assert record["epochs"][0]["test_acc"] > 95.0  # the original's first epoch: 97.32%
