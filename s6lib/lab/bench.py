"""The speed benchmark: time to a run that meets the course's bar, then one recipe in each configuration.

The headline (`time_to_bar`): for each recipe of BAR_RECIPES (the original first, so every other is
timed beside it in the same run), a few epochs timed on one core (one thread, no DataLoader workers:
what a student's single CPU core does) and on all cores (a thread and, on pipeline A, a worker per
core), in float32 on a CPU (the format of Colab's free tier). A recipe's time to the bar is its
seconds per epoch times its epochs, where its records (book/runs) meet the course's strict bar:
every planned seed complete and at least 99.4% in each of its last 3 epochs; where they do not,
the row says so and gives no time. Each row's GFLOP/s is set beside a ceiling the benchmark measures
(`hardware.matmul_ceiling`: a large float32 matrix product on the same cores) and beside the
arithmetic peak (`hardware.cpu_peak`, with the clock measured).

Then `python -m s6lib bench` trains the recipe (default: the seed's, Net6) in each
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
import tempfile
import time
from pathlib import Path

import torch

from ..mnist import train
from ..mnist.engine import select_engine, select_precision
from ..mnist.goals import EPOCHS, LAST, TARGET, TEST_IMAGES, TRAIN_IMAGES
from ..mnist.models import build_model
from ..mnist.recipes import RECIPES, ConfigError, Recipe, display_name, get_recipe, stored_name, validate
from . import hardware, records
from .provenance import git_info, run_environment
from .run_times import bar_verdict
from .sweep import Job, available_cpus, run_jobs

# Data: add a row to benchmark another configuration. "workers": "all" means --workers-max;
# "engine": None means --engine. "max_epochs" caps the timed epochs: pipeline A's epochs all take
# the same time, so a few project 20 well. A row that would run exactly as an earlier one here
# (the fast path on a CPU is eager bf16; "all workers" on 2 cores is 2 workers) is left out, and
# a row whose precision this device lacks is skipped; the log says which.
CONFIGS = (
    {"name": "A, 2 workers", "pipeline": "A", "workers": 2, "engine": "eager", "precision": "float32", "max_epochs": 5},
    {"name": "A, all workers", "pipeline": "A", "workers": "all", "engine": "eager", "precision": "float32",
     "max_epochs": 5},
    {"name": "B, float32", "pipeline": "B", "workers": 0, "engine": "eager", "precision": "float32",
     "max_epochs": None},
    {"name": "B, bf16", "pipeline": "B", "workers": 0, "engine": "eager", "precision": "bf16", "max_epochs": None},
    {"name": "B, fast path", "pipeline": "B", "workers": 0, "engine": None, "precision": "auto", "max_epochs": None},
)
REFERENCES = ("A, 2 workers", "A, all workers")  # speed-ups are relative to these (the seed's pipeline)
PROJECTED_EPOCHS = 20  # the target: a 20-epoch run
PLAN_EPOCHS = EPOCHS  # a planned run's epochs (the fast recipe's): sweep throughput is in runs of this length
# timed to the bar, in this order (short: the quick round's pick, not quick)
BAR_RECIPES = ("original", "fast", "short")
RUNS_DIR = Path("book") / "runs"  # the records whose verdict the time-to-bar rows state


def file_name(device_name: str) -> str:
    """E.g. 'nvidia-h100-80gb-hbm3.json': one benchmark record per kind of device."""
    return re.sub(r"[^a-z0-9]+", "-", device_name.lower()).strip("-") + ".json"


def bench(recipe: Recipe, *, epochs: int, warmup: int = 1, device="auto", workers_max: int | None = None,
          engine: str = "auto", seed: int = 1, data_root=None, limit_train: int | None = None,
          limit_test: int | None = None, sweep_epochs: int = 2, configs=CONFIGS, bar_epochs: int = 2,
          bar_recipes: tuple[str, ...] = BAR_RECIPES, runs_dir=RUNS_DIR, log=print) -> dict:
    """Time each of `bar_recipes` to the bar (`time_to_bar`, `bar_epochs` timed epochs each; none
    when 0), train `recipe` in each configuration, then time sweeps of it with 1 job and, on a CPU,
    one job per core; return the benchmark record (records.BENCH_SCHEMA)."""
    device = train.resolve_device(device) if isinstance(device, str) else device
    workers_max = available_cpus() if workers_max is None else workers_max
    if epochs < 1 or warmup < 0 or workers_max < 0 or sweep_epochs < 1 or bar_epochs < 0:
        raise ConfigError(f"epochs={epochs}, warmup={warmup}, workers_max={workers_max}, sweep_epochs={sweep_epochs}, "
                          f"bar_epochs={bar_epochs}: need epochs >= 1, warmup >= 0, workers_max >= 0, "
                          f"sweep_epochs >= 1, bar_epochs >= 0")
    bar = [get_recipe(name) for name in bar_recipes if stored_name(name) in RECIPES] if bar_epochs else []
    for name in bar_recipes if bar_epochs else ():
        if stored_name(name) not in RECIPES:
            log(f"--- time to the bar: no recipe {name!r} yet; left out")
    runs, seen = [], {}
    for c in configs:  # refuse a configuration that cannot run before any work; leave out repeats
        run_recipe = validate(dataclasses.replace(recipe, pipeline=c["pipeline"],
                                                  epochs=warmup + min(epochs, c["max_epochs"] or epochs)))
        workers, run_engine = workers_max if c["workers"] == "all" else c["workers"], c["engine"] or engine
        use_graph, _ = select_engine(run_engine, run_recipe, device)
        try:
            precision, _ = select_precision(c["precision"], device)
        except ConfigError as err:
            log(f"--- {c['name']}: skipped ({err})")
            continue
        same = seen.setdefault((c["pipeline"], workers, use_graph, precision), c["name"])
        if same != c["name"]:
            log(f"--- {c['name']}: runs here exactly as {same!r}; left out")
            continue
        runs.append((c, run_recipe, workers, run_engine))

    flops = _flops(recipe, device, limit_train, limit_test)
    started, start = records.utc_now(), time.perf_counter()
    torch.ones(1, device=device).sum().item()  # CUDA start-up: the context, before any configuration
    startup_seconds = time.perf_counter() - start
    ceiling = measure_ceiling(device, log=log)
    to_bar = time_to_bar(bar, epochs=bar_epochs, warmup=warmup, device=device, ceiling=ceiling, seed=seed,
                         data_root=data_root, limit_train=limit_train, limit_test=limit_test, runs_dir=runs_dir,
                         log=log)
    rows = []
    for config, run_recipe, workers, run_engine in runs:
        log(f"--- {config['name']}: {warmup} warm-up + {run_recipe.epochs - warmup} timed epochs")
        run = train.run(run_recipe, seed=seed, device=device, data_root=data_root, limit_train=limit_train,
                        limit_test=limit_test, num_workers=workers, engine=run_engine,
                        precision=config["precision"], progress=False, log=log)
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
            **_rate(flops, 1 / per_epoch, device, run["engine"]["precision"], run["environment"]["threads"]),
        })
    per_epoch = {row["name"]: row["seconds_per_epoch"] for row in rows}
    for row in rows:
        row["speedup"] = {ref: per_epoch[ref] / row["seconds_per_epoch"] for ref in REFERENCES if ref in per_epoch}
    sweeps = [sweep_throughput(recipe, jobs, epochs=sweep_epochs, device=device, engine=engine, data_root=data_root,
                               limit_train=limit_train, limit_test=limit_test, per_epoch=per_epoch, log=log)
              for jobs in sorted({1, available_cpus() if device.type == "cpu" else 1})]
    precision = select_precision("auto", device)[0]
    for row in sweeps:
        cores = row["jobs"] * row["threads"]
        row.update(_rate(flops, row["epochs_per_hour"] / 3600, device, precision, cores))
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
        "flops": flops,
        "ceiling": ceiling,
        "time_to_bar": to_bar,
        "configs": rows,
        "sweeps": sweeps,
        "environment": run_environment(device),
        "git": git_info(),
        "started_utc": started,
        "finished_utc": records.utc_now(),
        "seconds": time.perf_counter() - start,
    }


def core_counts(device: torch.device) -> tuple[int, ...]:
    """The cores the headline times a recipe on: one and all on a CPU; on a GPU, the one setting there is."""
    return tuple(sorted({1, available_cpus()})) if device.type == "cpu" else (torch.get_num_threads(),)


def measure_ceiling(device: torch.device, log=print) -> dict:
    """The references every time-to-bar row is set against: the clock (measured where it can be), and
    per core count the arithmetic float32 peak and the rate of a large float32 matrix product."""
    clock = hardware.clock() if device.type == "cpu" else {"ghz": None, "source": "not a CPU"}
    rows = []
    for cores in core_counts(device):
        gflops = hardware.matmul_ceiling(cores, device=device)
        peak = hardware.cpu_peak(cores, "float32", clock) if device.type == "cpu" else hardware.peak(
            device, "float32", cores)
        log(f"--- ceiling on {cores} core(s): float32 matrix product {gflops:,.1f} GFLOP/s; peak "
            f"{peak['basis'] if peak else 'unknown'}")
        rows.append({"cores": cores, "matmul_gflops": gflops, "peak": peak})
    return {"clock_ghz": clock["ghz"], "clock_source": clock["source"], "nominal_ghz": hardware.nominal_ghz(),
            "matmul_size": hardware.MATMUL_SIZE, "rows": rows}


def time_to_bar(recipes: list[Recipe], *, epochs: int, warmup: int, device: torch.device, ceiling: dict,
                seed: int = 1, data_root=None, limit_train: int | None = None, limit_test: int | None = None,
                runs_dir=RUNS_DIR, log=print) -> list[dict]:
    """One row per (recipe, core count): `warmup` + `epochs` epochs of the recipe as it is (its own pipeline),
    their seconds, the run's projected time, and its time to the bar where its records meet the bar."""
    rows = []
    precision = "float32" if device.type == "cpu" else "auto"
    references = {row["cores"]: row for row in ceiling["rows"]}
    for recipe in recipes:
        verdict = bar_verdict(recipe.name, runs_dir)
        flops = _flops(recipe, device, limit_train, limit_test)
        for cores in core_counts(device):
            workers = 0 if cores == 1 or recipe.pipeline == "B" else cores
            log(f"--- time to the bar: {display_name(recipe.name)} on {cores} core(s), {warmup} warm-up + "
                f"{epochs} timed epochs")
            run_recipe = validate(dataclasses.replace(recipe, epochs=warmup + epochs))
            before = torch.get_num_threads()
            torch.set_num_threads(cores)
            try:
                run = train.run(run_recipe, seed=seed, device=device, data_root=data_root, limit_train=limit_train,
                                limit_test=limit_test, num_workers=workers, engine="auto", precision=precision,
                                progress=False, log=log)
            finally:
                torch.set_num_threads(before)
            if run["status"] != "complete":
                raise RuntimeError(f"time to the bar, {recipe.name} on {cores} core(s): {run['message']}")
            seconds = [row["seconds"] for row in run["epochs"][warmup:]]
            per_epoch = sum(seconds) / len(seconds)
            rate = _rate(flops, 1 / per_epoch, device, run["engine"]["precision"], cores)
            reference = references[cores]
            rows.append({
                "recipe": recipe.name, "cores": cores, "threads": run["environment"]["threads"], "workers": workers,
                "pipeline": recipe.pipeline, "engine": run["engine"], "epoch_seconds": seconds,
                "seconds_per_epoch": per_epoch, "epochs": recipe.epochs, "run_seconds": per_epoch * recipe.epochs,
                "records": verdict, "seconds_to_bar": per_epoch * recipe.epochs if verdict["meets"] else None,
                **rate, "fraction_of_ceiling": rate["gflops"] / reference["matmul_gflops"],
            })
    return rows


def _flops(recipe: Recipe, device: torch.device, limit_train: int | None, limit_test: int | None) -> dict:
    """The FLOPs of one epoch of `recipe` (s6lib.lab.hardware.step_flops): per image, and the images an epoch sees
    (pipeline B's training loader drops the last partial batch; pipeline A's keeps it, a difference of under
    0.3% of an epoch, so B's count stands for both)."""
    model = build_model(recipe.model).to(device)
    n_train = limit_train or TRAIN_IMAGES
    return {"train_per_image": hardware.step_flops(model, recipe.batch_size, train=True),
            "eval_per_image": hardware.step_flops(model, recipe.test_batch_size, train=False),
            "train_images": (n_train // recipe.batch_size * recipe.batch_size if n_train >= recipe.batch_size
                             else n_train),
            "eval_images": limit_test or TEST_IMAGES,
            "method": "torch.utils.flop_counter.FlopCounterMode: convolutions and matrix products, forward and "
                      "backward; elementwise work (ReLU, BatchNorm, the optimizer) is not counted"}


def _rate(flops: dict, epochs_per_second: float, device: torch.device, precision: str, cores: int) -> dict:
    """A row's achieved GFLOP/s, the peak of what it ran on, and the fraction of that peak."""
    per_epoch = flops["train_per_image"] * flops["train_images"] + flops["eval_per_image"] * flops["eval_images"]
    gflops = per_epoch * epochs_per_second / 1e9
    peak = hardware.peak(device, precision, cores)
    return {"gflops": gflops, "peak": peak, "fraction_of_peak": gflops / peak["gflops"] if peak else None}


def sweep_throughput(recipe: Recipe, jobs: int, *, epochs: int, device: torch.device, engine: str, data_root,
                     limit_train: int | None, limit_test: int | None, per_epoch: dict[str, float], log=print) -> dict:
    """Time a real sweep (s6lib.lab.sweep) of `jobs` runs of `epochs` epochs each, `jobs` at a time, of the
    recipe on pipeline B: its epochs per hour, in runs of PLAN_EPOCHS per hour, and as a multiple of
    each reference configuration's epochs per hour. Each run starts its own process when `jobs` > 1,
    and that start-up counts: it is part of what a sweep costs."""
    run_recipe = dataclasses.replace(recipe, pipeline="B", epochs=epochs)
    threads = 1 if jobs > 1 else torch.get_num_threads()
    log(f"--- sweep, {jobs} job(s) of {threads} thread(s): {jobs} runs of {epochs} epochs")
    with tempfile.TemporaryDirectory(prefix="s6-bench-sweep-") as folder:
        sweep_jobs = [Job(run_recipe, seed, Path(folder) / f"s{seed}.json") for seed in range(1, jobs + 1)]
        options = dict(device=device, data_root=data_root, limit_train=limit_train, limit_test=limit_test,
                       engine=engine, precision="auto", progress=False)
        start = time.perf_counter()
        counts = run_jobs(sweep_jobs, options, processes=jobs, threads=threads, log=lambda *a: None)
        seconds = time.perf_counter() - start
    if counts["complete"] != jobs:
        raise RuntimeError(f"benchmark sweep with {jobs} job(s): {counts}")
    epochs_per_hour = jobs * epochs * 3600 / seconds
    return {
        "jobs": jobs, "threads": threads, "runs": jobs, "epochs_per_run": epochs, "seconds": seconds,
        "epochs_per_hour": epochs_per_hour, "runs_per_hour": epochs_per_hour / PLAN_EPOCHS,
        "speedup": {ref: epochs_per_hour * per_epoch[ref] / 3600 for ref in REFERENCES if ref in per_epoch},
    }


def bar_table(record: dict) -> str:
    """The headline as text: each recipe's time to the bar on one core and on all cores, and the ceiling."""
    if not record.get("time_to_bar"):
        return ""
    lines = [f"{'time to the bar':16} {'cores':>5} {'s/epoch':>8} {'epochs':>6} {'one run':>9} {'to the bar':>22} "
             f"{'GFLOP/s':>8} {'of matmul':>9} {'of peak':>8}"]
    for row in record["time_to_bar"]:
        verdict = row["records"]
        if verdict["meets"]:
            to_bar = f"{row['seconds_to_bar'] / 60:.1f} min"
        elif verdict["meets"] is None:
            to_bar = f"records {verdict['complete']}/{verdict['planned']} seeds"
        else:
            to_bar = f"misses ({verdict['lowest']:.2f}%)"
        fraction = row["fraction_of_peak"]
        lines.append(f"{display_name(row['recipe']):16} {row['cores']:>5} {row['seconds_per_epoch']:>8.2f} "
                     f"{row['epochs']:>6} {row['run_seconds'] / 60:>5.1f} min {to_bar:>22} {row['gflops']:>8.1f} "
                     f"{row['fraction_of_ceiling']:>9.1%} {'-' if fraction is None else f'{fraction:.1%}':>8}")
    ceiling = record["ceiling"]
    lines.append(f"the bar: every planned seed >= {TARGET}% in each of its last {LAST} epochs, in the records "
                 f"of each recipe; one run = s/epoch x the recipe's epochs (training and test evaluation), "
                 f"{record['time_to_bar'][0]['engine']['precision']}")
    clock = ceiling["clock_ghz"]
    lines.append(f"clock: {'unknown' if clock is None else f'{clock:.2f} GHz'} ({ceiling['clock_source']}); "
                 f"nominal {ceiling['nominal_ghz'] or 0:.2f} GHz")
    for ref in ceiling["rows"]:
        lines.append(f"ceiling on {ref['cores']} core(s): {ref['matmul_gflops']:,.1f} GFLOP/s (float32 "
                     f"{ceiling['matmul_size']}x{ceiling['matmul_size']} matrix product); peak "
                     f"{ref['peak']['basis'] if ref['peak'] else 'unknown'}")
    return "\n".join(lines) + "\n\n"


def precision_check(record: dict) -> dict | None:
    """Does "auto" pick the faster number format here? {"auto", "bf16_speedup" (float32's seconds per epoch
    over bf16's, pipeline B), "agrees"}; None where the record lacks either row."""
    rows = {row["name"]: row for row in record["configs"]}
    if "B, float32" not in rows or "B, bf16" not in rows:
        return None
    speedup = rows["B, float32"]["seconds_per_epoch"] / rows["B, bf16"]["seconds_per_epoch"]
    fast_path = rows.get("B, fast path", rows["B, bf16"])  # left out where it ran as the bf16 row
    auto = fast_path["engine"]["precision"]
    return {"auto": auto, "bf16_speedup": speedup, "agrees": (auto == "bf16-autocast") == (speedup > 1)}


def table(record: dict) -> str:
    """The benchmark as text: the time to the bar, a row per configuration, then the device and what ran where."""
    refs = [ref for ref in REFERENCES if any(row["name"] == ref for row in record["configs"])]
    head = (f"{'configuration':16} {'workers':>7} {'engine':>18} {'s/epoch':>8} {'20 epochs':>10} {'measured':>9} "
            + "".join(f"{'vs ' + ref:>18}" for ref in refs) + f" {'capture':>8} {'test acc':>8}"
            + f" {'GFLOP/s':>8} {'of peak':>8}")
    lines = [bar_table(record) + head]
    for row in record["configs"]:
        engine = row["engine"]
        measured, capture = row["measured_20_epochs"], engine["capture_seconds"]
        lines.append(
            f"{row['name']:16} {row['workers']:>7} {engine['step'] + ' ' + engine['precision']:>18} "
            f"{row['seconds_per_epoch']:>8.3f} {row['seconds_20_epochs']:>9.2f}s "
            f"{'-' if measured is None else f'{measured:.2f}s':>9}"
            + "".join(f"{row['speedup'][ref]:>17.1f}x" for ref in refs)
            + f" {'-' if capture is None else f'{capture:.2f}s':>8} {row['test_acc']:>7.2f}%" + _rate_text(row))
    env = record["environment"]
    lines.append(f"device: {env['device_name']} ({env['device']}), torch {env['torch']}, CUDA {env['cuda']}; "
                 f"start-up {record['startup_seconds']:.2f} s; recipe {record['recipe']['name']}, "
                 f"{record['warmup_epochs']} warm-up + up to {record['epochs']} timed epochs, each with its test "
                 f"evaluation; 20 epochs = 20 x s/epoch")
    lines += [f"{row['name']}: {row['engine']['fallback']}" for row in record["configs"] if row["engine"]["fallback"]]
    check = precision_check(record)
    if check:
        lines.append(f"precision: auto picks {check['auto']} here; bf16 ran {check['bf16_speedup']:.2f}x as fast as "
                     f"float32" + ("" if check["agrees"] else " (auto did not pick the faster format)"))
    if record["sweeps"]:
        lines += ["", f"{'sweep':16} {'jobs':>4} {'threads':>7} {'epochs/hour':>12} "
                      f"{f'{PLAN_EPOCHS}-epoch runs/hour':>22}" + "".join(f"{'vs ' + ref:>18}" for ref in refs)]
        lines += [f"{'':16} {row['jobs']:>4} {row['threads']:>7} {row['epochs_per_hour']:>12.0f} "
                  f"{row['runs_per_hour']:>22.1f}" + "".join(f"{row['speedup'][ref]:>17.1f}x" for ref in refs)
                  + _rate_text(row) for row in record["sweeps"]]
    peaks = {row["peak"]["basis"] for row in [*record["configs"], *record["sweeps"]] if row.get("peak")}
    if "flops" in record:
        f = record["flops"]
        lines += ["", f"FLOPs per image: {f['train_per_image'] / 1e6:.2f} M per training step, "
                      f"{f['eval_per_image'] / 1e6:.2f} M per evaluation ({f['method']})"]
        lines += [f"peak: {basis}" for basis in sorted(peaks)]
    return "\n".join(lines)


def _rate_text(row: dict) -> str:
    if "gflops" not in row:  # a version 2 record
        return ""
    fraction = row["fraction_of_peak"]
    return f" {row['gflops']:>8.1f} {'-' if fraction is None else f'{fraction:.1%}':>8}"
