"""Sweeps with several training processes: records, resuming, and stopping midway."""

import json
import signal
import subprocess
import sys
import time

import pytest

from s6lib.__main__ import main
from s6lib.records import load_record
from s6lib.sweep import Progress

TINY = ["--recipe", "fast", "--device", "cpu", "--limit-train", "256", "--limit-test", "128", "--batch-size", "64"]


@pytest.mark.slow
def test_two_jobs_write_every_record_report_each_run_and_resume(mnist_root, capsys, tmp_path):
    argv = ["sweep", *TINY, "--epochs", "2", "--seeds", "1", "2", "3", "--jobs", "2", "--data-root", str(mnist_root),
            "--out-dir", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"fast-net6-dropout-0.05-s{s}.json" for s in (1, 2, 3)]  # no temp file left behind
    for seed in (1, 2, 3):
        record = load_record(tmp_path / f"fast-net6-dropout-0.05-s{seed}.json")
        assert record["status"] == "complete" and record["config"]["seed"] == seed
        assert record["environment"]["threads"] == 1  # one thread per process
    assert "3 runs to train (0 already done), 2 at a time" in out
    assert [line.split(" | ")[1].split(",")[0] for line in out.splitlines() if " | " in line] == \
        ["1/3 done", "2/3 done", "3/3 done"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("skipped (--force reruns it)") == 3 and "3 skipped" in out


@pytest.mark.slow
def test_a_stopped_sweep_saves_the_runs_in_flight_and_leaves_no_process(mnist_root, tmp_path):
    argv = [sys.executable, "-m", "s6lib", "sweep", *TINY, "--epochs", "200", "--seeds", "1", "2", "3",
            "--jobs", "2", "--data-root", str(mnist_root), "--out-dir", str(tmp_path)]
    sweep = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    records = [tmp_path / f"fast-net6-dropout-0.05-s{s}.json" for s in (1, 2)]
    deadline = time.monotonic() + 120
    while not all(p.exists() and json.loads(p.read_text())["epochs"] for p in records):
        assert time.monotonic() < deadline and sweep.poll() is None, "the runs never finished an epoch"
        time.sleep(0.5)
    sweep.send_signal(signal.SIGINT)  # to the sweep only, as `timeout -s INT` sends it
    _, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 130 and "interrupted" in err
    for path in records:
        record = load_record(path)
        assert record["status"] == "interrupted" and len(record["epochs"]) >= 1
    assert not (tmp_path / "fast-net6-dropout-0.05-s3.json").exists()  # never started
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert leftover == ""


def test_progress_estimates_the_time_left_from_finished_epochs(monkeypatch):
    clock = iter([0.0, 600.0, 1200.0])
    monkeypatch.setattr("s6lib.sweep.time.perf_counter", lambda: next(clock))
    progress = Progress(total=4, epochs_left=60)
    assert progress.finished(15) == "1/4 done, 10.0 min so far, about 30.0 min left"
    assert progress.finished(15) == "2/4 done, 20.0 min so far, about 20.0 min left"


def test_bad_jobs_are_refused(capsys):
    assert main(["sweep", "--recipe", "fast", "--jobs", "0"]) == 2
    assert "--jobs 0: must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("plans", [["training", "ablations"], ["ablations", "training"]])
def test_several_plans_list_each_record_once(plans, capsys, tmp_path):
    assert main(["sweep", "--plan", *plans, "--list", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("/fast-s1.json ") == 1  # the fast recipe is in both plans: one record
    assert "0 of 97 runs of plan " in out
