"""The speed benchmark: one recipe trained in each configuration, side by side, in one run on one machine.

`python -m s6lib bench` trains the recipe (default: the seed's, Net6) in each
row of CONFIGS with `train.run`: warm-up epochs first (DataLoader workers
starting, cuDNN's first calls, a graph's first replay), then timed epochs. An
epoch's time is the run record's: training and test evaluation, ended by the
host reading the test metrics, so no device work is left out of it. CUDA
start-up is timed once before any configuration, and a graph's capture by the
run itself (`engine.capture_seconds`), both apart from the epochs.
"""

from __future__ import annotations

import dataclasses
import re
import time

import torch

from . import engine, records, train
from .provenance import git_info, run_environment
from .recipes import ConfigError, Recipe, validate
from .sweep import available_cpus

# Data: add a row to benchmark another configuration. "workers": "all" means
# --workers-max; "engine": None means --engine. "max_epochs" caps the timed
# epochs: pipeline A's epochs all take the same time, so a few project 20 well.
CONFIGS = (
    {"name": "A, 2 workers", "pipeline": "A", "workers": 2, "engine": "eager", "max_epochs": 5},
    {"name": "A, all workers", "pipeline": "A", "workers": "all", "engine": "eager", "max_epochs": 5},
    {"name": "B, eager", "pipeline": "B", "workers": 0, "engine": "eager", "max_epochs": None},
    {"name": "B, fast path", "pipeline": "B", "workers": 0, "engine": None, "max_epochs": None},
)
REFERENCES = ("A, 2 workers", "A, all workers")  # speed-ups are relative to these (the seed's pipeline)
PROJECTED_EPOCHS = 20  # the target: a 20-epoch run


def file_name(device_name: str) -> str:
    """E.g. 'nvidia-h100-80gb-hbm3.json': one benchmark record per kind of device."""
    return re.sub(r"[^a-z0-9]+", "-", device_name.lower()).strip("-") + ".json"


def bench(recipe: Recipe, *, epochs: int, warmup: int = 1, device="auto", workers_max: int | None = None,
          engine: str = "auto", seed: int = 1, data_root=None, limit_train: int | None = None,
          limit_test: int | None = None, configs=CONFIGS, log=print) -> dict:
    """Train `recipe` in each configuration; return the benchmark record (records.BENCH_SCHEMA)."""
    device = train.resolve_device(device) if isinstance(device, str) else device
    workers_max = available_cpus() if workers_max is None else workers_max
    if epochs < 1 or warmup < 0 or workers_max < 0:
        raise ConfigError(f"epochs={epochs}, warmup={warmup}, workers_max={workers_max}: "
                                f"need epochs >= 1, warmup >= 0, workers_max >= 0")
    runs = [(c, dataclasses.replace(recipe, pipeline=c["pipeline"],
                                    epochs=warmup + min(epochs, c["max_epochs"] or epochs)),
             workers_max if c["workers"] == "all" else c["workers"], c["engine"] or engine) for c in configs]
    for _, run_recipe, _, run_engine in runs:  # refuse a configuration that cannot run before any work
        validate(run_recipe)
        engine.select_engine(run_engine, run_recipe, device)

    started, start = records.utc_now(), time.perf_counter()
    torch.ones(1, device=device).sum().item()  # CUDA start-up: the context, before any configuration
    startup_seconds = time.perf_counter() - start
    rows = []
    for config, run_recipe, workers, run_engine in runs:
        log(f"--- {config['name']}: {warmup} warm-up + {run_recipe.epochs - warmup} timed epochs")
        run = train.run(run_recipe, seed=seed, device=device, data_root=data_root, limit_train=limit_train,
                        limit_test=limit_test, num_workers=workers, engine=run_engine, progress=False, log=log)
        if run["status"] != "complete":
            raise RuntimeError(f"benchmark configuration {config['name']!r}: {run['message']}")
        seconds = [row["seconds"] for row in run["epochs"][warmup:]]
        per_epoch = sum(seconds) / len(seconds)
        rows.append({
            "name": config["name"], "pipeline": config["pipeline"], "workers": workers, "engine": run["engine"],
            "epoch_seconds": seconds, "seconds_per_epoch": per_epoch,
            "seconds_20_epochs": PROJECTED_EPOCHS * per_epoch,
            "measured_20_epochs": sum(seconds) if len(seconds) == PROJECTED_EPOCHS else None,
            "speedup": {}, "test_acc": run["epochs"][-1]["test_acc"],
        })
    per_epoch = {row["name"]: row["seconds_per_epoch"] for row in rows}
    for row in rows:
        row["speedup"] = {ref: per_epoch[ref] / row["seconds_per_epoch"] for ref in REFERENCES if ref in per_epoch}
    return {
        "schema_version": records.BENCH_SCHEMA_VERSION,
        "kind": "bench",
        "recipe": dataclasses.asdict(recipe),
        "seed": seed,
        "warmup_epochs": warmup,
        "epochs": epochs,
        "limit_train": limit_train,
        "limit_test": limit_test,
        "workers_max": workers_max,
        "startup_seconds": startup_seconds,
        "configs": rows,
        "environment": run_environment(device),
        "git": git_info(),
        "started_utc": started,
        "finished_utc": records.utc_now(),
        "seconds": time.perf_counter() - start,
    }


def table(record: dict) -> str:
    """The benchmark as text: a row per configuration, then the device and what ran where."""
    refs = [ref for ref in REFERENCES if any(row["name"] == ref for row in record["configs"])]
    head = (f"{'configuration':16} {'workers':>7} {'engine':>18} {'s/epoch':>8} {'20 epochs':>10} {'measured':>9} "
            + "".join(f"{'vs ' + ref:>18}" for ref in refs) + f" {'capture':>8} {'test acc':>8}")
    lines = [head]
    for row in record["configs"]:
        engine = row["engine"]
        measured, capture = row["measured_20_epochs"], engine["capture_seconds"]
        lines.append(
            f"{row['name']:16} {row['workers']:>7} {engine['step'] + ' ' + engine['precision']:>18} "
            f"{row['seconds_per_epoch']:>8.3f} {row['seconds_20_epochs']:>9.2f}s "
            f"{'-' if measured is None else f'{measured:.2f}s':>9}"
            + "".join(f"{row['speedup'][ref]:>17.1f}x" for ref in refs)
            + f" {'-' if capture is None else f'{capture:.2f}s':>8} {row['test_acc']:>7.2f}%")
    env = record["environment"]
    lines.append(f"device: {env['device_name']} ({env['device']}), torch {env['torch']}, CUDA {env['cuda']}; "
                 f"start-up {record['startup_seconds']:.2f} s; recipe {record['recipe']['name']}, "
                 f"{record['warmup_epochs']} warm-up + up to {record['epochs']} timed epochs, each with its test "
                 f"evaluation; 20 epochs = 20 x s/epoch")
    lines += [f"{row['name']}: fell back to eager: {row['engine']['fallback']}"
              for row in record["configs"] if row["engine"]["fallback"]]
    return "\n".join(lines)
