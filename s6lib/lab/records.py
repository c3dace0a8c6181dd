"""Run records: one JSON file per training run, written atomically, validated on load, one writer at a time.

The schema below is the only description of a record; `new_record` makes one,
`validate` checks one (types, then ranges: accuracies in [0, 100], losses and
times >= 0, every number finite), and SCHEMA_VERSION changes whenever either
changes. Benchmark records (s6lib.lab.bench) have their own schema, BENCH_SCHEMA,
and version. `WriteLock` keeps a second process from writing a record that one
is writing already.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import math
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import filelock

from ..mnist.goals import TEST_IMAGES

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
        "recipe": dict,  # the Recipe as run, overrides applied (s6lib/mnist/recipes.py)
        "seed": int,
        "limit_train": (int, type(None)),  # first N training images only
        "limit_test": (int, type(None)),  # first N test images only
        "dry_run": bool,
        "num_workers": int,  # pipeline A's DataLoader workers: they change which worker draws which augmentation
    },
    "config_fingerprint": str,  # sha256 of the canonical JSON of config
    "model": {
        "name": str,  # variant name in s6lib.mnist.specs.VARIANTS
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


# A benchmark record: one `python -m s6lib bench` on one machine (s6lib.lab.bench).
BENCH_SCHEMA_VERSION = 4
BENCH_READS = (2, 3, 4)  # version 2 records have no FLOP counts and no peak; before 4, no time to the bar
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
BENCH_SWEEP = {  # a real sweep (s6lib.lab.sweep) of `runs` short runs of the recipe on pipeline B
    "jobs": int,  # runs side by side (processes, when more than 1)
    "threads": int,  # torch threads of each
    "runs": int,
    "epochs_per_run": int,
    "seconds": float,  # wall time of the whole sweep, process start-up included
    "epochs_per_hour": float,
    "runs_per_hour": float,  # in runs of a planned run's length (s6lib.lab.bench.PLAN_EPOCHS epochs)
    "speedup": dict,  # reference configuration -> epochs per hour as a multiple of that configuration's
}
# Version 3 adds how close to the hardware each row ran (s6lib.lab.hardware says how each number is made).
_PEAK = (dict, type(None))  # {"gflops": float, "basis": str}: the device's peak, said how; null where unknown
BENCH_V3 = {"flops": dict}  # {"train_per_image", "eval_per_image", "train_images", "eval_images", "method"}
BENCH_ROW_V3 = {
    "gflops": float,  # FLOPs of the epoch (training and evaluation) / its seconds, in GFLOP/s
    "peak": _PEAK,  # of the cores (threads) or the GPU the row used, in its precision
    "fraction_of_peak": (float, type(None)),  # gflops / peak["gflops"]
}


# Version 4 adds the headline: each recipe's time to the bar (s6lib.lab.bench.time_to_bar) and the ceiling.
BENCH_V4 = {
    "ceiling": {"clock_ghz": (float, type(None)), "clock_source": str, "nominal_ghz": (float, type(None)),
                "matmul_size": int, "rows": list},  # rows: {"cores", "matmul_gflops", "peak"} per core count
    "time_to_bar": list,  # one BENCH_BAR row per (recipe, core count)
}
BENCH_BAR = {
    "recipe": str,  # stored name
    "cores": int, "threads": int, "workers": int, "pipeline": str,
    "engine": SCHEMA["engine"],
    "epoch_seconds": list, "seconds_per_epoch": float,
    "epochs": int,  # the recipe's
    "run_seconds": float,  # seconds_per_epoch * epochs
    "records": {"experiment": str, "planned": int, "complete": int, "lowest": (float, type(None)),
                "meets": (bool, type(None))},  # what the recipe's records say of the strict bar
    "seconds_to_bar": (float, type(None)),  # run_seconds where the records meet the bar, else null
    **BENCH_ROW_V3,
    "fraction_of_ceiling": float,  # gflops / the ceiling's matmul_gflops on as many cores
}


class RecordError(ValueError):
    """A run or benchmark record that does not follow its schema; the message names the file and the field."""


class RecordInUse(RuntimeError):
    """Another process holds the write lock of a record (or of another file written the same way)."""


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


PERCENTS = ("train_acc", "val_acc", "test_acc")  # epoch columns in [0, 100]
NON_NEGATIVE = ("lr", "train_loss", "val_loss", "test_loss", "seconds")  # epoch columns >= 0


def _failer(record, source: str):
    """The `fail(field, problem)` that raises RecordError naming `source`, once `record` is an object."""

    def fail(field: str, problem: str):
        raise RecordError(f"{source}: field {field!r}: {problem}")

    if not isinstance(record, dict):
        fail("<top>", f"expected a JSON object, got {type(record).__name__}")
    return fail


def validate(record, source: str = "<record>") -> dict:
    """Raise RecordError naming `source` and the first bad field; return the record unchanged."""
    fail = _failer(record, source)
    version = record.get("schema_version")
    if type(version) is not int or version not in READS:
        fail("schema_version", f"is {version!r}; this s6lib reads versions {', '.join(map(str, READS))}")
    for field in non_finite(record)[:1]:  # first: a NaN or 1e400 anywhere (the config too) breaks what follows
        fail(field, "is not finite (NaN, or infinite: too large for a float)")
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
        for key in PERCENTS:
            if row.get(key) is not None and not 0 <= row[key] <= 100:
                fail(f"epochs[{i}].{key}", f"is {row[key]!r}; a percentage is in [0, 100]")
        for key in NON_NEGATIVE:
            if row.get(key) is not None and row[key] < 0:
                fail(f"epochs[{i}].{key}", f"is {row[key]!r}; it cannot be negative")
        if version == 4:
            for key in evaluated:
                if row[key] is None:
                    fail(f"epochs[{i}].{key}", "is null, but the run "
                         f"{'has validation split ' + repr(split) if split else 'evaluates on the test set'}")
            for key in blank:
                if row[key] is not None:
                    fail(f"epochs[{i}].{key}",
                         "must be null: a run with a validation split never evaluates the "
                         "test set" if split else "must be null: the run has no validation split")
    for field, value in (("seconds", record["seconds"]),
                         ("engine.capture_seconds", record["engine"]["capture_seconds"])):
        if value is not None and value < 0:
            fail(field, f"is {value!r}; a duration cannot be negative")
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
    if record["misclassified"] is not None:
        _check_misclassified(record["misclassified"], record["config"]["limit_test"] or TEST_IMAGES, fail)
    return record


def non_finite(value, field: str = "") -> list[str]:
    """The fields of `value` (nested objects and lists too, as "a.b[2]") whose number is NaN or infinite:
    JSON readers take NaN, Infinity and 1e400, and canonical JSON refuses them."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [field or "<top>"]
    if isinstance(value, dict):
        return [bad for key, item in value.items() for bad in non_finite(item, f"{field}.{key}" if field else str(key))]
    if isinstance(value, list):
        return [bad for i, item in enumerate(value) for bad in non_finite(item, f"{field}[{i}]")]
    return []


def _check_misclassified(pairs: list, test_images: int, fail) -> None:
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, list) and len(pair) == 2 and all(type(v) is int for v in pair) and 0 <= pair[1] < 10):
            fail(f"misclassified[{i}]", "must be a list of [test index, predicted class] integer pairs")
        if not 0 <= pair[0] < test_images:
            fail(f"misclassified[{i}]", f"test index {pair[0]} is outside the test set ({test_images:,} images)")


def validate_bench(record, source: str = "<bench record>") -> dict:
    """Raise RecordError naming `source` and the first bad field; return the benchmark record unchanged."""
    fail = _failer(record, source)
    version = record.get("schema_version")
    if record.get("kind") != "bench" or type(version) is not int or version not in BENCH_READS:
        fail("schema_version", f"is {record.get('kind')!r} version {version!r}; "
                               f"this s6lib reads 'bench' versions {', '.join(map(str, BENCH_READS))}")
    v3 = version >= 3
    _check_fields(record, {**BENCH_SCHEMA, **(BENCH_V3 if v3 else {}), **(BENCH_V4 if version >= 4 else {})}, "", fail)
    for i, row in enumerate(record["time_to_bar"] if version >= 4 else []):
        if not isinstance(row, dict):
            fail(f"time_to_bar[{i}]", "expected an object")
        _check_fields(row, BENCH_BAR, f"time_to_bar[{i}].", fail)
        if (row["seconds_to_bar"] is None) == bool(row["records"]["meets"]):
            fail(f"time_to_bar[{i}].seconds_to_bar", "is a time exactly where the recipe's records meet the bar")
    row_extra = BENCH_ROW_V3 if v3 else {}
    for i, row in enumerate(record["configs"]):
        if not isinstance(row, dict):
            fail(f"configs[{i}]", "expected an object")
        _check_fields(row, {**BENCH_CONFIG, **row_extra}, f"configs[{i}].", fail)
        numbers = [*row["epoch_seconds"], *row["speedup"].values(), row["seconds_per_epoch"]]
        if not row["epoch_seconds"] or not all(_has_type(v, float) and math.isfinite(v) and v >= 0 for v in numbers):
            fail(f"configs[{i}]", "epoch_seconds and speedup must be finite numbers >= 0, at least one epoch")
        if not 0 <= row["test_acc"] <= 100:
            fail(f"configs[{i}].test_acc", f"is {row['test_acc']!r}; a percentage is in [0, 100]")
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
    for field in non_finite(record)[:1]:  # last: the checks above say more about the fields they know
        fail(field, "is not finite (NaN, or infinite: too large for a float)")
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


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "w"):
    """A file opened for writing beside `path` ("w" or "wb"); when the block ends without an error, it
    replaces `path` whole (readable by all, as the files it replaces), else it is deleted and `path` is
    left as it was. The one way s6lib writes a file that a crash must not leave half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's files are private
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _write_atomic(text: str, path: Path) -> Path:
    with atomic_file(path) as f:
        f.write(text)
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


def load_any_record(path: str | Path) -> dict:
    """A run record, or a benchmark record when its `kind` says "bench"; validated as its schema says."""
    record = _read_json(path)
    if isinstance(record, dict) and record.get("kind") == "bench":
        return validate_bench(record, str(path))
    return validate(record, str(path))


def load_bench_record(path: str | Path) -> dict:
    return validate_bench(_read_json(path), str(path))


def _read_json(path: str | Path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RecordError(f"{path}: cannot read a JSON record: {err}") from None


def mark_stopped(path: str | Path, why: str) -> bool:
    """Say in the record at `path` that its run stopped, when a process that is gone left it "running":
    status "interrupted", `why` as its message. The caller holds its WriteLock. True if it was changed."""
    record = load_record(path)
    if record["status"] != "running":
        return False
    record.update(status="interrupted", message=why, finished_utc=utc_now())
    write_record(record, path)
    return True


class WriteLock:
    """One writer per file: an exclusive lock on `.<name>.lock` beside it, held while a process writes it,
    and the holder's process id in `.<name>.pid`.

        with WriteLock(path):   # RecordInUse, naming the holder's process, when another one writes it
            ...

    The lock is filelock's (the kernel's flock on POSIX, a byte lock on Windows), so it dies with its
    process: a lock file left by a process that was killed is stale and taken over. Whoever takes the
    lock removes what an earlier writer that was killed mid-write left beside the file (`.<name>.*`
    temporary files and folders). With `wait`, a lock that is held is retried for that many seconds.
    """

    def __init__(self, path: str | Path, wait: float = 0.0):
        self.path = Path(path)
        self.file = self.path.with_name(f".{self.path.name}.lock")
        self.owner = self.path.with_name(f".{self.path.name}.pid")
        self._lock = filelock.FileLock(self.file, timeout=wait, thread_local=False)

    def __enter__(self) -> "WriteLock":
        self.file.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            try:
                holder = self.owner.read_text().strip() or "another process"
            except OSError:
                holder = "another process"
            raise RecordInUse(f"{self.path} is being written by process {holder} (its lock: {self.file}); "
                              f"wait for it to finish, or stop it (kill {holder})") from None
        self._remove_leftovers()
        self.owner.write_text(f"{os.getpid()}\n")
        return self

    def __exit__(self, *exc) -> None:
        self.owner.unlink(missing_ok=True)
        # Removed while still held, so that the next writer locks a fresh file (filelock checks that the
        # file it locked is still there); Windows cannot remove a file that is locked: it stays, and is reused.
        with contextlib.suppress(OSError):
            self.file.unlink()
        self._lock.release()

    def _remove_leftovers(self) -> None:
        for leftover in self.path.parent.glob(f".{glob.escape(self.path.name)}.*"):
            if leftover not in (self.file, self.owner):
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
