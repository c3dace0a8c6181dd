import copy
import json
import os

import pytest

from s6lib import records
from s6lib.engine import engine_record
from s6lib.records import RecordError, fingerprint, load_record, load_records, new_record, validate, write_record

ROW = {"epoch": 1, "lr": 0.01, "train_loss": 0.5, "train_acc": 85.0, "val_loss": None, "val_acc": None,
       "test_loss": 0.1, "test_acc": 97.0, "seconds": 3.2}


def make_record(status="complete") -> dict:
    config = {"recipe": {"name": "seed", "epochs": 1}, "seed": 1, "limit_train": None, "limit_test": 500,
              "dry_run": False, "num_workers": 2}
    model = {"name": "net6", "spec": {"channels": [4, 8, 24, 48, 10]}, "parameters": 17022}
    environment = {
        "device": "cpu", "device_name": "CPU (2 cores)", "threads": 2, "python": "3.11", "platform": "Linux",
        "torch": "2", "torchvision": "0", "cuda": None, "cudnn": None,
    }  # fmt: skip
    record = new_record(config, model, environment, {"commit": None, "dirty": None}, engine_record("eager", "float32"))
    record.update(status=status, epochs=[dict(ROW)], misclassified=[[3, 5], [7, 1]], finished_utc=records.utc_now(), seconds=3.3)
    return record


def test_a_record_round_trips(tmp_path):
    record = make_record()
    path = write_record(record, tmp_path / "runs" / "r.json")
    assert load_record(path) == record
    assert load_records(tmp_path / "runs") == [record]
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
        (lambda r: r.update(misclassified=[[1, 12]]), "misclassified", "pairs"),
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

