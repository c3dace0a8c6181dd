"""Bad input from the command line gets one line before any work, and the exit status says what happened
(issue 20: arguments that ended in tracebacks or silent changes; exit codes that meant two things)."""

import re

import pytest
import torch

from s6lib import __main__ as cli
from s6lib.__main__ import main
from s6lib.lab.records import load_record
from s6lib.lab.sweep import available_cpus
from s6lib.mnist import train

from conftest import CHECKPOINT, ROOT

pytestmark = pytest.mark.usefixtures("one_thread")  # --threads changes torch's threads: restored after

FAST = ["--recipe", "fast", "--device", "cpu"]


def run_cli(argv, capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own errors, and --help
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(argv, capsys, code: int = 2) -> str:
    """Run the CLI, expect `code` and one line on stderr (no traceback); return that line."""
    got, _, err = run_cli(argv, capsys)
    assert got == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err.strip()


def test_every_exit_status_is_distinct_and_listed_in_help(capsys):
    codes = [0, cli.EXIT_DIVERGED, cli.EXIT_USAGE, cli.EXIT_RUN_FAILED, cli.EXIT_INTERRUPTED]
    assert len(set(codes)) == len(codes) and set(cli.EXIT_CODES) == set(codes)
    for command in ([], ["train"], ["sweep"]):
        code, out, _ = run_cli([*command, "--help"], capsys)
        text = " ".join(out.split())
        assert code == 0
        for number, meaning in cli.EXIT_CODES.items():
            assert f"{number} {meaning}" in text, (command, number)


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
def test_a_seed_numpy_cannot_take_is_refused(capsys, tmp_path, seed):
    err = one_line_error(["train", *FAST, "--seed", seed, "--data-root", str(tmp_path), "--out",
                          str(tmp_path / "r.json")], capsys)
    assert f"seed {seed}: must be in 0..4294967295" in err
    err = one_line_error(["sweep", *FAST, "--seeds", "1", seed, "--jobs", "2", "--data-root", str(tmp_path),
                          "--out-dir", str(tmp_path)], capsys)
    assert f"seed {seed}: must be in 0..4294967295" in err
    assert list(tmp_path.iterdir()) == []


def test_an_infinite_learning_rate_is_refused(capsys, tmp_path):
    for command in (["train", "--out", str(tmp_path / "r.json")], ["sweep", "--jobs", "2", "--out-dir", str(tmp_path)]):
        err = one_line_error([*command, *FAST, "--lr", "inf", "--data-root", str(tmp_path)], capsys)
        assert "lr must be a finite number" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("threads", ["0", "-1"])
def test_threads_below_one_are_refused_before_any_run_starts(capsys, tmp_path, threads):
    err = one_line_error(["sweep", *FAST, "--jobs", "2", "--threads", threads, "--data-root", str(tmp_path),
                          "--out-dir", str(tmp_path)], capsys)
    assert f"--threads {threads}: must be >= 1" in err
    assert list(tmp_path.iterdir()) == []


def test_more_threads_than_cpus_get_a_note_and_the_cpus(capsys, tmp_path):
    code, _, err = run_cli(["train", *FAST, "--threads", "1000", "--dry-run", "--data-root", str(tmp_path / "none"),
                            "--out", str(tmp_path / "r.json")], capsys)
    cpus = available_cpus()
    assert f"note: --threads 1000 is more than the {cpus} CPUs here; using {cpus}" in err
    assert torch.get_num_threads() == cpus
    assert code == 2 and "MNIST not found" in err  # the run went on, with the CPUs, to the (missing) data


@pytest.mark.parametrize("argv, problem", [
    (lambda tmp: ["train", "--out", str(tmp)], "is a folder"),
    (lambda tmp: ["train", "--out", str(tmp / "r.json"), "--save-model", str(tmp)], "the weights .* is a folder"),
    (lambda tmp: ["train", "--out", str(tmp / "file.txt" / "r.json")], "cannot be written"),
    (lambda tmp: ["sweep", "--out-dir", str(tmp / "file.txt"), "--jobs", "2"], "cannot be written"),
])
def test_an_output_path_that_cannot_be_written_is_refused_before_training(capsys, tmp_path, argv, problem):
    (tmp_path / "file.txt").write_text("a file where a folder goes")
    err = one_line_error([*argv(tmp_path), *FAST, "--data-root", str(tmp_path / "none")], capsys)
    assert re.search(problem, err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]




@pytest.mark.parametrize("make", [
    lambda p: p.write_bytes(b"garbage, not a checkpoint"),
    lambda p: p.write_bytes(CHECKPOINT.read_bytes()[: CHECKPOINT.stat().st_size // 2]),
    lambda p: p.mkdir(),
    lambda p: p.write_bytes(CHECKPOINT.read_bytes()),  # beside another run's record
])
def test_export_digit_names_a_bad_checkpoint_and_suggests_nothing_unsafe(capsys, tmp_path, make):
    checkpoint = tmp_path / "w.pt"
    make(checkpoint)
    (tmp_path / "w.json").write_bytes((ROOT / "book/runs/cpu/seed-s1.json").read_bytes())
    err = one_line_error(["export-digit", "--checkpoint", str(checkpoint), "--out-dir", str(tmp_path / "site")],
                         capsys)
    assert str(checkpoint) in err and "weights_only" not in err
    assert not (tmp_path / "site").exists()


def test_weights_that_cannot_be_saved_leave_a_record_that_says_so_and_their_own_exit_status(mnist_root, capsys,
                                                                                           tmp_path, monkeypatch):
    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(train, "save_checkpoint", full_disk)
    out = tmp_path / "r.json"
    err = one_line_error(["train", *FAST, "--dry-run", "--data-root", str(mnist_root), "--out", str(out),
                          "--save-model", str(tmp_path / "w.pt")], capsys, code=cli.EXIT_RUN_FAILED)
    assert re.search(r"the weights could not be saved to .*w.pt \(No space left on device\); the run completed, "
                     r"and .*r.json says so", err), err
    record = load_record(out)
    assert record["status"] == "complete" and "the weights could not be saved" in record["message"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no lock or temp file left
