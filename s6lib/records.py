"""Run records: one JSON file per training run, written atomically, validated on load.

The schema below is the only description of a record; `new_record` makes one,
`validate` checks one, and SCHEMA_VERSION changes whenever either changes.
Benchmark records (s6lib.bench) have their own schema, BENCH_SCHEMA, and version.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

SCHEMA_VERSION = 4
READS = (3, 4)  # versions this s6lib validates: version 3 records have no validation columns
STATUSES = ("running", "complete", "diverged", "interrupted")

_str_or_none = (str, type(None))
# field -> allowed JSON types; a nested dict gives the fields of a nested object.
# float fields accept ints too (JSON does not tell 1 from 1.0); bools are never numbers.
SCHEMA: dict = {
    "schema_version": int,
    "status": str,  # one of STATUSES
    "message": _str_or_none,  # why a run stopped early, in words
    "config": {  # everything that decides the numbers
        "recipe": dict,  # the Recipe as run, overrides applied (s6lib/recipes.py)
        "seed": int,
        "limit_train": (int, type(None)),  # first N training images only
        "limit_test": (int, type(None)),  # first N test images only
        "dry_run": bool,
        "num_workers": int,  # pipeline A's DataLoader workers: they change which worker draws which augmentation
    },
    "config_fingerprint": str,  # sha256 of the canonical JSON of config
    "model": {
        "name": str,  # variant name in s6lib.models.VARIANTS
        "spec": dict,  # the NetSpec as built
        "fingerprint": str,  # sha256 of the canonical JSON of spec
        "parameters": int,  # model.parameters(), all of them
    },
    "epochs": list,  # one EPOCH row per finished epoch, in order
    "diverged_at": (dict, type(None)),  # {"epoch": int, "step": int or None} when the loss went non-finite
    "misclassified": (list, type(None)),  # [test index, predicted class] for each test image the final model gets wrong
    "environment": {
        "device": str,  # torch device, e.g. "cuda:0", "cpu"
        "device_name": str,  # GPU name, or CPU model and core count
        "threads": int,  # torch.get_num_threads()
        "python": str,
        "platform": str,
        "torch": str,
        "torchvision": str,
        "cuda": _str_or_none,  # CUDA version torch was built with
        "cudnn": (int, type(None)),  # only when running on CUDA
    },
    "engine": {  # how the training step ran
        "step": str,  # "eager", or "cuda-graph" (the whole step captured once, replayed)
        "precision": str,  # "float32", or "bf16-autocast"
        "fallback": _str_or_none,  # why the fast path was not used where the recipe allowed it
        "capture_seconds": (float, type(None)),  # graph capture + warm-up, not counted in epoch times
    },
    "git": {  # None outside a git checkout
        "commit": _str_or_none,
        "dirty": (bool, type(None)),  # s6lib/ had changed or untracked files: the code is not the commit's
    },
    "started_utc": str,  # ISO 8601
    "finished_utc": _str_or_none,
    "seconds": (float, type(None)),  # wall time of the whole run
}
_float_or_none = (float, type(None))
EPOCH = {
    "epoch": int,  # 1-based
    "lr": float,  # at the start of the epoch
    "train_loss": float,  # mean NLL over the epoch's (augmented) training batches
    "train_acc": float,  # percent correct on those batches, in train mode
    "val_loss": _float_or_none,  # mean NLL over the validation split; null when the run has none
    "val_acc": _float_or_none,  # percent correct on the validation split; null when the run has none
    "test_loss": _float_or_none,  # mean NLL over the test set; null in a run with a validation split
    "test_acc": _float_or_none,  # percent correct on the test set; null in a run with a validation split
    "seconds": float,  # wall time of the epoch, training and evaluation
}
EPOCH_V3 = {**{k: v for k, v in EPOCH.items() if not k.startswith("val_")}, "test_loss": float, "test_acc": float}


# A benchmark record: one `python -m s6lib bench` on one machine (s6lib.bench).
BENCH_SCHEMA_VERSION = 3
BENCH_READS = (2, 3)  # version 2 records have no FLOP counts and no peak
BENCH_SCHEMA: dict = {
    "schema_version": int,  # BENCH_SCHEMA_VERSION
    "kind": str,  # "bench": tells a benchmark record from a run record
    "recipe": dict,  # the Recipe every configuration trains, with the configuration's pipeline
    "seed": int,
    "warmup_epochs": int,  # epochs each configuration trains before the timed ones
    "epochs": int,  # timed epochs asked for; a configuration may time fewer (its max_epochs)
    "limit_train": (int, type(None)),  # first N training images only
    "limit_test": (int, type(None)),  # first N test images only
    "workers_max": int,  # DataLoader workers of the "all workers" configuration
    "startup_seconds": float,  # first use of the device (the CUDA context), before any configuration
    "configs": list,  # one BENCH_CONFIG row per configuration, in the order run
    "sweeps": list,  # one BENCH_SWEEP row per number of jobs, in the order run
    "environment": SCHEMA["environment"],
    "git": SCHEMA["git"],
    "started_utc": str,  # ISO 8601
    "finished_utc": str,
    "seconds": float,  # wall time of the whole benchmark
}
BENCH_CONFIG = {
    "name": str,
    "pipeline": str,  # "A" or "B"
    "workers": int,  # pipeline A's DataLoader workers (0 for pipeline B)
    "engine": SCHEMA["engine"],  # as the configuration's run recorded it (capture seconds, fallback)
    "epoch_seconds": list,  # each timed epoch, training and test evaluation
    "seconds_per_epoch": float,  # mean of epoch_seconds
    "seconds_20_epochs": float,  # 20 * seconds_per_epoch
    "measured_20_epochs": (float, type(None)),  # sum of epoch_seconds when 20 epochs were timed
    "speedup": dict,  # reference configuration -> its seconds_per_epoch / this one's
    "test_acc": float,  # percent correct on the test set after the last epoch: it did learn
}
BENCH_SWEEP = {  # a real sweep (s6lib.sweep) of `runs` short runs of the recipe on pipeline B
    "jobs": int,  # runs side by side (processes, when more than 1)
    "threads": int,  # torch threads of each
    "runs": int,
    "epochs_per_run": int,
    "seconds": float,  # wall time of the whole sweep, process start-up included
    "epochs_per_hour": float,
    "runs_per_hour": float,  # in runs of a planned run's length (s6lib.bench.PLAN_EPOCHS epochs)
    "speedup": dict,  # reference configuration -> epochs per hour as a multiple of that configuration's
}
# Version 3 adds how close to the hardware each row ran (s6lib.hardware says how each number is made).
_PEAK = (dict, type(None))  # {"gflops": float, "basis": str}: the device's peak, said how; null where unknown
BENCH_V3 = {"flops": dict}  # {"train_per_image", "eval_per_image", "train_images", "eval_images", "method"}
BENCH_ROW_V3 = {
    "gflops": float,  # FLOPs of the epoch (training and evaluation) / its seconds, in GFLOP/s
    "peak": _PEAK,  # of the cores (threads) or the GPU the row used, in its precision
    "fraction_of_peak": (float, type(None)),  # gflops / peak["gflops"]
}


class RecordError(ValueError):
    """A run or benchmark record that does not follow its schema; the message names the file and the field."""


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def fingerprint(obj) -> str:
    """sha256 of the canonical JSON of `obj`: equal configs give equal fingerprints on any machine."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_record(config: dict, model: dict, environment: dict, git: dict, engine: dict) -> dict:
    """A record for a run that is starting; `model` is {"name", "spec", "parameters"}."""
    return {
        "schema_version": SCHEMA_VERSION,
        "status": "running",
        "message": None,
        "config": config,
        "config_fingerprint": fingerprint(config),
        "model": {**model, "fingerprint": fingerprint(model["spec"])},
        "epochs": [],
        "diverged_at": None,
        "misclassified": None,
        "environment": environment,
        "engine": engine,
        "git": git,
        "started_utc": utc_now(),
        "finished_utc": None,
        "seconds": None,
    }


def validate(record, source: str = "<record>") -> dict:
    """Raise RecordError naming `source` and the first bad field; return the record unchanged."""

    def fail(field: str, problem: str):
        raise RecordError(f"{source}: field {field!r}: {problem}")

    if not isinstance(record, dict):
        fail("<top>", f"expected a JSON object, got {type(record).__name__}")
    version = record.get("schema_version")
    if type(version) is not int or version not in READS:
        fail("schema_version", f"is {version!r}; this s6lib reads versions {', '.join(map(str, READS))}")
    _check_fields(record, SCHEMA, "", fail)
    epoch_schema = EPOCH if version == 4 else EPOCH_V3
    split = record["config"]["recipe"].get("validation")
    evaluated, blank = (("val_loss", "val_acc"), ("test_loss", "test_acc")) if split else (
        ("test_loss", "test_acc"), ("val_loss", "val_acc"))
    for i, row in enumerate(record["epochs"]):
        if not isinstance(row, dict):
            fail(f"epochs[{i}]", "expected an object")
        _check_fields(row, epoch_schema, f"epochs[{i}].", fail)
        if row["epoch"] != i + 1:
            fail(f"epochs[{i}].epoch", f"is {row['epoch']}, expected {i + 1}")
        for key in epoch_schema:
            if isinstance(row[key], float) and not math.isfinite(row[key]):
                fail(f"epochs[{i}].{key}", "is not finite")
        if version == 4:
            for key in evaluated:
                if row[key] is None:
                    fail(f"epochs[{i}].{key}", f"is null, but the run {'has validation split ' + repr(split) if split else 'evaluates on the test set'}")
            for key in blank:
                if row[key] is not None:
                    fail(f"epochs[{i}].{key}", "must be null: a run with a validation split never evaluates the "
                                               "test set" if split else "must be null: the run has no validation split")
    if record["status"] not in STATUSES:
        fail("status", f"is {record['status']!r}; expected one of {', '.join(STATUSES)}")
    if record["config_fingerprint"] != fingerprint(record["config"]):
        fail("config_fingerprint", "does not match config (the config was changed after the run)")
    if record["model"]["fingerprint"] != fingerprint(record["model"]["spec"]):
        fail("model.fingerprint", "does not match model.spec")
    if record["status"] == "diverged" and record["diverged_at"] is None:
        fail("diverged_at", "is null, but status is 'diverged'")
    if record["status"] == "complete":
        planned = record["config"]["recipe"].get("epochs")
        if len(record["epochs"]) != planned:
            fail("epochs", f"has {len(record['epochs'])} rows, but the complete run planned {planned}")
        if record["finished_utc"] is None:
            fail("finished_utc", "is null, but status is 'complete'")
    if record["misclassified"] is not None and not all(
        isinstance(pair, list) and len(pair) == 2 and all(type(v) is int for v in pair) and 0 <= pair[1] < 10
        for pair in record["misclassified"]
    ):
        fail("misclassified", "must be a list of [test index, predicted class] integer pairs")
    return record


def validate_bench(record, source: str = "<bench record>") -> dict:
    """Raise RecordError naming `source` and the first bad field; return the benchmark record unchanged."""

    def fail(field: str, problem: str):
        raise RecordError(f"{source}: field {field!r}: {problem}")

    if not isinstance(record, dict):
        fail("<top>", f"expected a JSON object, got {type(record).__name__}")
    version = record.get("schema_version")
    if record.get("kind") != "bench" or type(version) is not int or version not in BENCH_READS:
        fail("schema_version", f"is {record.get('kind')!r} version {version!r}; "
                               f"this s6lib reads 'bench' versions {', '.join(map(str, BENCH_READS))}")
    v3 = version >= 3
    _check_fields(record, {**BENCH_SCHEMA, **(BENCH_V3 if v3 else {})}, "", fail)
    row_extra = BENCH_ROW_V3 if v3 else {}
    for i, row in enumerate(record["configs"]):
        if not isinstance(row, dict):
            fail(f"configs[{i}]", "expected an object")
        _check_fields(row, {**BENCH_CONFIG, **row_extra}, f"configs[{i}].", fail)
        numbers = [*row["epoch_seconds"], *row["speedup"].values(), row["seconds_per_epoch"]]
        if not row["epoch_seconds"] or not all(_has_type(v, float) and math.isfinite(v) and v >= 0 for v in numbers):
            fail(f"configs[{i}]", "epoch_seconds and speedup must be finite numbers >= 0, at least one epoch")
    for i, row in enumerate(record["sweeps"]):
        if not isinstance(row, dict):
            fail(f"sweeps[{i}]", "expected an object")
        _check_fields(row, {**BENCH_SWEEP, **row_extra}, f"sweeps[{i}].", fail)
        numbers = [row["seconds"], row["epochs_per_hour"], row["runs_per_hour"], *row["speedup"].values()]
        if not all(_has_type(v, float) and math.isfinite(v) and v > 0 for v in numbers):
            fail(f"sweeps[{i}]", "seconds, throughputs and speedup must be finite numbers > 0")
    for i, row in enumerate([*record["configs"], *record["sweeps"]] if v3 else []):
        where = f"configs[{i}]" if i < len(record["configs"]) else f"sweeps[{i - len(record['configs'])}]"
        peak, fraction = row["peak"], row["fraction_of_peak"]
        if not (math.isfinite(row["gflops"]) and row["gflops"] > 0):
            fail(f"{where}.gflops", "must be a finite number > 0")
        if peak is not None and not (set(peak) == {"gflops", "basis"} and _has_type(peak["gflops"], float)
                                     and peak["gflops"] > 0 and isinstance(peak["basis"], str)):
            fail(f"{where}.peak", 'must be null or {"gflops": a number > 0, "basis": how it was worked out}')
        if (fraction is None) != (peak is None) or (fraction is not None and not 0 < fraction <= 1):
            fail(f"{where}.fraction_of_peak", "must be in (0, 1] where a peak is known (above 1, the peak is wrong), "
                                              "else null")
    return record


def _check_fields(obj: dict, schema: dict, prefix: str, fail) -> None:
    missing = [k for k in schema if k not in obj]
    if missing:
        fail(prefix + missing[0], "is missing")
    extra = [k for k in obj if k not in schema]
    if extra:
        fail(prefix + extra[0], "is not in the schema")
    for key, expected in schema.items():
        value = obj[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                fail(prefix + key, f"expected an object, got {type(value).__name__}")
            _check_fields(value, expected, f"{prefix}{key}.", fail)
        elif not _has_type(value, expected):
            fail(prefix + key, f"expected {_type_names(expected)}, got {type(value).__name__} {value!r:.60}")


def _has_type(value, expected) -> bool:
    types = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types) or (float in types and isinstance(value, int))


def _type_names(expected) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)


def write_record(record: dict, path: str | Path) -> Path:
    """Validate, then write atomically: a temp file in the same folder, then os.replace.

    A crash mid-write leaves the previous file (if any) intact and no partial file.
    """
    path = Path(path)
    validate(record, str(path))
    return _write_atomic(_to_json(record) + "\n", path)


def write_bench_record(record: dict, path: str | Path) -> Path:
    """Validate a benchmark record, then write it atomically (as `write_record`)."""
    path = Path(path)
    validate_bench(record, str(path))
    return _write_atomic(_to_json(record) + "\n", path)


def _write_atomic(text: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def _to_json(obj, indent: str = "") -> str:
    """JSON with one line per flat object or list (an epoch row, the misclassified indices)."""
    nested = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, list) else ()
    if not any(isinstance(v, (dict, list)) for v in nested):
        return json.dumps(obj, allow_nan=False)
    inner = indent + " "
    if isinstance(obj, dict):
        lines = [f"{inner}{json.dumps(k)}: {_to_json(v, inner)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(lines) + f"\n{indent}}}"
    return "[\n" + ",\n".join(inner + _to_json(v, inner) for v in obj) + f"\n{indent}]"


def load_record(path: str | Path) -> dict:
    return validate(_read_json(path), str(path))


def load_bench_record(path: str | Path) -> dict:
    return validate_bench(_read_json(path), str(path))


def _read_json(path: str | Path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RecordError(f"{path}: cannot read a JSON record: {err}") from None


def load_records(folder: str | Path, pattern: str = "*.json") -> list[dict]:
    """Every record in `folder` (sorted by file name); a malformed one raises RecordError."""
    return [load_record(p) for p in sorted(Path(folder).glob(pattern))]
