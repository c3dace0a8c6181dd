"""Sweeps with several training processes: records, resuming, and stopping midway."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from s6lib.__main__ import main
from s6lib.lab.records import WriteLock, load_record
from s6lib.lab.sweep import Progress

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
    # a try-out of another config (here --dry-run) never replaces a finished record
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main([*argv, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "holds a complete run of another config" in err and "--force" in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.slow
def test_a_sweep_runs_where_signals_cannot_be_masked(mnist_root, monkeypatch, capsys, tmp_path):
    """Windows has no pthread_sigmask: the sweep starts its processes without it."""
    monkeypatch.setattr("s6lib.lab.sweep.CAN_MASK", False)
    monkeypatch.delattr("signal.pthread_sigmask")
    argv = ["sweep", *TINY, "--epochs", "1", "--seeds", "1", "2", "--jobs", "2", "--data-root", str(mnist_root),
            "--out-dir", str(tmp_path)]
    assert main(argv) == 0
    assert all(load_record(tmp_path / f"fast-net6-dropout-0.05-s{s}.json")["status"] == "complete" for s in (1, 2))


@pytest.mark.slow
def test_a_stopped_sweep_saves_the_runs_in_flight_and_leaves_no_process(mnist_root, tmp_path):
    argv = [sys.executable, "-m", "s6lib", "sweep", *TINY, "--epochs", "200", "--seeds", "1", "2", "3",
            "--jobs", "2", "--data-root", str(mnist_root), "--out-dir", str(tmp_path)]
    sweep = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    records = [tmp_path / f"fast-net6-dropout-0.05-s{s}.json" for s in (1, 2)]
    deadline = time.monotonic() + 600  # starting two runs can take minutes on a busy 2-core machine
    while not all(p.exists() and json.loads(p.read_text())["epochs"] for p in records):
        assert time.monotonic() < deadline and sweep.poll() is None, "the runs never finished an epoch"
        time.sleep(0.5)
    sweep.send_signal(signal.SIGINT)  # to the sweep only, as `timeout -s INT` sends it
    _, err = sweep.communicate(timeout=300)
    assert sweep.returncode == 130 and "interrupted" in err
    for path in records:
        record = load_record(path)
        assert record["status"] == "interrupted" and len(record["epochs"]) >= 1
    assert not (tmp_path / "fast-net6-dropout-0.05-s3.json").exists()  # never started
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout
    assert leftover == ""


def test_progress_estimates_the_time_left_from_finished_epochs(monkeypatch):
    clock = iter([0.0, 600.0, 1200.0])
    monkeypatch.setattr("s6lib.lab.sweep.time.perf_counter", lambda: next(clock))
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


# --- issue 20: one writer per record, dead and orphaned children, start-up Ctrl-C -----------------

FAST = "fast-net6-dropout-0.05"


def test_the_same_seed_twice_is_one_run(mnist_root, capsys, tmp_path):
    argv = ["sweep", *TINY, "--dry-run", "--seeds", "1", "1", "--jobs", "1", "--data-root", str(mnist_root),
            "--out-dir", str(tmp_path)]
    assert main(argv) == 0
    assert "1 runs to train (0 already done)" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{FAST}-s1.json"]


def test_a_sweep_refuses_a_record_another_process_writes_before_any_run_starts(capsys, tmp_path):
    with WriteLock(tmp_path / f"{FAST}-s2.json"):
        code = main(["sweep", *TINY, "--seeds", "1", "2", "--jobs", "2", "--data-root", str(tmp_path / "none"),
                     "--out-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and f"{FAST}-s2.json is being written by process {os.getpid()}" in err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


def test_sweep_list_reports_every_record_that_does_not_validate(capsys, tmp_path):
    bad = [tmp_path / "cpu" / name for name in ("fast-s1.json", "fast-s2.json")]
    for path, text in zip(bad, ['{"half', json.dumps({"schema_version": 4})]):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert main(["sweep", "--plan", "training", "--list", "--out-dir", str(tmp_path / "cpu")]) == 2
    captured = capsys.readouterr()
    assert captured.out.count("  invalid") == 2 and "runs of plan 'training' complete" in captured.out
    for path in bad:
        assert str(path) in captured.err
    assert "2 record(s) do not validate" in captured.err


def _holders(paths, timeout=600.0) -> dict:
    """The pid in each record's .pid file, once every record has finished an epoch (on a busy 2-core
    machine, starting two runs can take minutes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        locks = {p: p.with_name(f".{p.name}.pid") for p in paths}
        if all(p.exists() and json.loads(p.read_text())["epochs"] and locks[p].exists() for p in paths):
            try:
                return {p: int(locks[p].read_text()) for p in paths}
            except (FileNotFoundError, ValueError):
                pass
        time.sleep(0.5)
    raise AssertionError("the runs never finished an epoch")


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX"  # a zombie has stopped
    except FileNotFoundError:
        return True


def _runs_starting(pid: int) -> bool:
    """Whether the sweep `pid` has training processes (not helpers such as ldconfig), each far enough into
    its start-up to have Python's SIGINT handler (importing torch, say): a Ctrl-C then is a KeyboardInterrupt."""
    runs = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                status = Path(f"/proc/{child}/status").read_text()
                runs.append(int(status.split("SigCgt:")[1].split()[0], 16) & 1 << (signal.SIGINT - 1))
        except OSError:  # a helper that has just exited
            pass
    return bool(runs) and all(runs)


@pytest.fixture
def start_sweep(tmp_path, mnist_root):
    """Starts a long sweep of two runs into tmp_path, in a process group of its own; whatever of it is
    left when the test ends (a failed test) is killed."""
    started = []

    def start() -> subprocess.Popen:
        argv = [sys.executable, "-m", "s6lib", "sweep", *TINY, "--epochs", "200", "--seeds", "1", "2",
                "--jobs", "2", "--data-root", str(mnist_root), "--out-dir", str(tmp_path)]
        started.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True))
        return started[-1]

    yield start
    for sweep in started:
        try:
            os.killpg(sweep.pid, signal.SIGKILL)  # the group outlives its leader: orphaned runs too
        except ProcessLookupError:
            pass
        sweep.communicate()


@pytest.mark.slow
def test_a_run_that_dies_stops_the_sweep_with_one_line_and_its_own_exit_status(start_sweep, tmp_path):
    sweep = start_sweep()
    records = [tmp_path / f"{FAST}-s{s}.json" for s in (1, 2)]
    holders = _holders(records)
    os.kill(holders[records[0]], signal.SIGKILL)  # as the kernel's OOM killer does
    _, err = sweep.communicate(timeout=300)
    assert sweep.returncode == 3, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"the run for {records[0]} (net6-dropout-0.05, seed 1) died (killed by SIGKILL" in err
    assert "run it again to resume" in err
    dead, other = load_record(records[0]), load_record(records[1])
    assert dead["status"] == "interrupted" and "its training process died (killed by SIGKILL)" in dead["message"]
    assert other["status"] == "interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in records)  # no lock left


@pytest.mark.slow
def test_the_runs_of_a_sweep_that_is_killed_stop_and_say_so(start_sweep, tmp_path):
    sweep = start_sweep()
    records = [tmp_path / f"{FAST}-s{s}.json" for s in (1, 2)]
    holders = _holders(records)
    sweep.kill()  # kill -9: the sweep cannot stop its children itself
    sweep.wait(timeout=30)  # (its pipes stay open while the children, which hold them, run)
    deadline = time.monotonic() + 300
    while not all(_gone(pid) for pid in holders.values()):
        assert time.monotonic() < deadline, "the orphaned runs went on training"
        time.sleep(0.5)
    for path in records:
        assert load_record(path)["status"] == "interrupted"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in records)


@pytest.mark.slow
def test_ctrl_c_while_the_runs_start_prints_one_line(start_sweep):
    sweep = start_sweep()
    deadline = time.monotonic() + 600
    while not _runs_starting(sweep.pid):
        assert time.monotonic() < deadline and sweep.poll() is None, "the sweep never started a run"
        time.sleep(0.05)
    os.killpg(sweep.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends: to every process of the group
    _, err = sweep.communicate(timeout=300)
    assert sweep.returncode == 130 and err.strip() == "interrupted", err
