import copy
import json
import os
import subprocess
import sys

import pytest

from s6lib.lab.records import (
    RecordError,
    RecordInUse,
    WriteLock,
    fingerprint,
    load_any_record,
    load_record,
    mark_stopped,
    validate,
    write_record,
)

from conftest import ROOT, make_record


def test_a_record_round_trips(tmp_path):
    record = make_record()
    path = write_record(record, tmp_path / "runs" / "r.json")
    assert load_record(path) == record
    assert sorted(os.listdir(tmp_path / "runs")) == ["r.json"]


def test_fingerprints_ignore_key_order_and_see_values():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 1.5})
    assert len(fingerprint({})) == 64


def broken(change):
    record = make_record()
    change(record)
    return record


@pytest.mark.parametrize(
    "change, field, problem",
    [
        (lambda r: r.pop("seconds"), "seconds", "is missing"),
        (lambda r: r.update(extra=1), "extra", "not in the schema"),
        (lambda r: r.update(status="done"), "status", "expected one of"),
        (lambda r: r.update(schema_version=99), "schema_version", "reads versions 3, 4"),
        (lambda r: r["epochs"][0].update(val_acc=99.0), "epochs[0].val_acc", "no validation split"),
        (lambda r: r["epochs"][0].update(test_acc=None), "epochs[0].test_acc", "evaluates on the test set"),
        (lambda r: r["epochs"][0].update(test_acc="97%"), "epochs[0].test_acc", "expected float"),
        (lambda r: r["epochs"][0].update(epoch=2), "epochs[0].epoch", "expected 1"),
        (lambda r: r["epochs"][0].update(test_loss=float("nan")), "epochs[0].test_loss", "not finite"),
        (lambda r: r["environment"].pop("device_name"), "environment.device_name", "is missing"),
        (lambda r: r["model"].update(parameters=True), "model.parameters", "expected int"),
        (lambda r: r["config"].update(seed=2), "config_fingerprint", "does not match"),
        (lambda r: r["config"].update(seed="2"), "config.seed", "expected int"),
        (lambda r: r.update(epochs=[]), "epochs", "planned 1"),
        (lambda r: r.update(status="diverged"), "diverged_at", "is null"),
        (lambda r: r.update(misclassified=[[1, 12]]), "misclassified[0]", "pairs"),
        # ranges (issue 20, finding 4): the pages would print these as facts
        (lambda r: r["epochs"][0].update(test_acc=130.0), "epochs[0].test_acc", "a percentage is in [0, 100]"),
        (lambda r: r["epochs"][0].update(train_acc=-1.0), "epochs[0].train_acc", "a percentage is in [0, 100]"),
        (lambda r: r["epochs"][0].update(train_loss=-0.5), "epochs[0].train_loss", "cannot be negative"),
        (lambda r: r["epochs"][0].update(seconds=-1.0), "epochs[0].seconds", "cannot be negative"),
        (lambda r: r.update(seconds=-3600), "seconds", "cannot be negative"),
        (lambda r: r["engine"].update(capture_seconds=-2.0), "engine.capture_seconds", "cannot be negative"),
        (lambda r: r.update(misclassified=[[3, 5], [500, 1]]), "misclassified[1]", "outside the test set (500 images)"),
        (lambda r: r.update(misclassified=[[-1, 1]]), "misclassified[0]", "outside the test set"),
        # non-finite numbers outside the epoch rows (finding 5)
        (lambda r: r.update(seconds=float("nan")), "seconds", "not finite"),
        (lambda r: r.update(seconds=float("inf")), "seconds", "not finite"),
        (lambda r: r["config"]["recipe"].update(lr=float("nan")), "config.recipe.lr", "not finite"),
        (lambda r: r["model"]["spec"].update(dropout=float("-inf")), "model.spec.dropout", "not finite"),
    ],
)
def test_malformed_records_are_refused_naming_file_and_field(change, field, problem, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(broken(change)))
    with pytest.raises(RecordError) as info:
        load_record(path)
    message = str(info.value)
    assert str(path) in message and repr(field) in message and problem in message


def test_a_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "half.json"
    path.write_text('{"schema_version": 1, "status": "comp')
    with pytest.raises(RecordError, match="half.json: cannot read a JSON record"):
        load_record(path)


def test_an_invalid_record_is_never_written(tmp_path):
    path = tmp_path / "r.json"
    with pytest.raises(RecordError):
        write_record(broken(lambda r: r.pop("status")), path)
    assert not path.exists()


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_crash_mid_write_keeps_the_old_file_and_leaves_no_partial_one(tmp_path, monkeypatch, failing):
    path = write_record(make_record(), tmp_path / "r.json")
    old = path.read_text()

    def crash(*args):
        raise OSError("disk gone")

    newer = copy.deepcopy(make_record())
    newer["epochs"][0]["test_acc"] = 99.0
    monkeypatch.setattr(os, failing, crash)
    with pytest.raises(OSError, match="disk gone"):
        write_record(newer, path)
    monkeypatch.undo()
    assert path.read_text() == old
    assert os.listdir(tmp_path) == ["r.json"]


def test_running_and_diverged_records_are_valid_too():
    running = make_record("running")
    running.update(finished_utc=None, epochs=[])
    validate(running)
    diverged = make_record("diverged")
    diverged["diverged_at"] = {"epoch": 2, "step": 17}
    validate(diverged)


def test_a_misclassified_index_is_checked_against_the_whole_test_set_without_a_limit(tmp_path):
    record = broken(lambda r: r["config"].update(limit_test=None))
    record["config_fingerprint"] = fingerprint(record["config"])
    record["misclassified"] = [[9999, 4]]
    validate(record)
    record["misclassified"] = [[999999, 4]]
    with pytest.raises(RecordError, match=r"'misclassified\[0\]': test index 999999 is outside the test set "
                                          r"\(10,000 images\)"):
        validate(record, "r.json")


def test_a_number_too_large_for_a_float_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(make_record()).replace('"seconds": 3.3', '"seconds": 1e400'))
    with pytest.raises(RecordError, match=r"big.json: field 'seconds': is not finite"):
        load_record(path)


def test_a_benchmark_record_with_a_non_finite_number_anywhere_is_refused(tmp_path):
    bench = next((ROOT / "book" / "runs" / "bench").glob("*.json"))
    record = json.loads(bench.read_text())
    load_any_record(bench)
    record["startup_seconds"] = float("nan")  # a field the benchmark's own checks do not look at
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(record))
    with pytest.raises(RecordError, match=r"bench.json: field 'startup_seconds': is not finite"):
        load_any_record(path)


# --- one writer per record (finding 3) ----------------------------------------------------------


def test_a_second_writer_is_refused_naming_the_first_and_a_stale_lock_is_taken_over(tmp_path):
    path = tmp_path / "r.json"
    with WriteLock(path):
        assert (tmp_path / ".r.json.pid").read_text().strip() == str(os.getpid())
        with pytest.raises(RecordInUse, match=rf"r.json is being written by process {os.getpid()} "):
            with WriteLock(path):
                pass
    assert os.listdir(tmp_path) == []  # released: no lock file left
    (tmp_path / ".r.json.lock").write_text("")  # left by a process that was killed holding it
    (tmp_path / ".r.json.pid").write_text("4194999\n")
    with WriteLock(path):
        assert (tmp_path / ".r.json.pid").read_text().strip() == str(os.getpid())
    assert os.listdir(tmp_path) == []


def test_a_writer_in_another_process_is_refused_and_a_waiting_one_gets_the_lock(tmp_path):
    path = tmp_path / "r.json"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from s6lib.lab.records import WriteLock\n"
                               f"with WriteLock({str(path)!r}):\n    print('held', flush=True); time.sleep(2)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RecordInUse, match=rf"being written by process {holder.pid} "):
        with WriteLock(path):
            pass
    with WriteLock(path, wait=120):  # retried until the holder lets go
        assert (tmp_path / ".r.json.pid").read_text().strip() == str(os.getpid())
    assert holder.wait(timeout=60) == 0


def test_taking_the_lock_removes_what_a_killed_writer_left(tmp_path):
    path = write_record(make_record(), tmp_path / "r.json")
    (tmp_path / ".r.json.k2j4h1.tmp").write_text('{"half')  # killed mid-write, as _write_atomic names it
    (tmp_path / ".other.json.x.tmp").write_text("")  # another record's: not this lock's business
    with WriteLock(path):
        assert sorted(os.listdir(tmp_path)) == [".other.json.x.tmp", ".r.json.lock", ".r.json.pid", "r.json"]


def test_a_record_left_running_can_be_marked_stopped(tmp_path):
    running = make_record("running")
    running.update(finished_utc=None)
    path = write_record(running, tmp_path / "r.json")
    assert mark_stopped(path, "its training process died (killed by SIGKILL)")
    record = load_record(path)
    assert record["status"] == "interrupted" and "died" in record["message"] and record["finished_utc"]
    assert not mark_stopped(path, "again")  # only a "running" record is changed
