"""Command line: `python -m s6lib {train,sweep,bench,summary,data,check-workbook,class-report} ...` (installed as `s6`).

Examples:
  python -m s6lib train --recipe original --seed 1 --device cuda --out runs/original-s1.json
  python -m s6lib train --recipe fast --dry-run
  python -m s6lib sweep --recipe fast --seeds 1 2 3 --models net6 net6-no-dropout --out-dir runs/sweep
  python -m s6lib sweep --plan ablations --device cuda          # the plan's missing runs -> book/runs/gpu/
  python -m s6lib sweep --plan ablations --list --out-dir book/runs/gpu
  python -m s6lib bench --epochs 20 --device cuda --out-dir book/runs/bench
  python -m s6lib bench --epochs 1 --limit-train 2048 --device cpu
  python -m s6lib summary --model net6
  python -m s6lib data
  python -m s6lib check-workbook my_sheet.xlsx                  # the first wrong cell of a backprop sheet
  python -m s6lib class-report submissions/ --out-dir class-report   # a class's records of the fast recipe
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

from .lab.bench import bench, file_name, table
from .lab.experiments import PLANS, RUNS_DIR, device_class, planned_runs
from .lab.records import RecordError, RecordInUse, fingerprint, load_record, write_bench_record
from .lab.sweep import Job, available_cpus, run_jobs
from .mnist.data import ENV_VAR, RAW_MD5, DataError, prepare_mnist
from .mnist.digit import write_site_files
from .mnist.engine import ENGINES, PRECISIONS
from .mnist.models import build_model, count_parameters, count_used_parameters, summary
from .mnist.receptive_field import receptive_field_table
from .mnist.recipes import RECIPE_CHOICES, WORKERS, ConfigError, get_recipe, run_config
from .mnist.specs import VARIANTS
from .mnist.train import RunFailed, default_record_path, resolve_device, run

EXIT_USAGE, EXIT_DIVERGED, EXIT_RUN_FAILED, EXIT_INTERRUPTED = 2, 1, 3, 130
EXIT_CODES = {  # listed in --help
    0: "done",
    EXIT_DIVERGED: "a run diverged, or check-workbook found a mistake",
    EXIT_USAGE: "bad input (an argument, the data, a record or checkpoint, or a record another process is writing)",
    EXIT_RUN_FAILED: "a run failed (its process died, or its record or weights could not be written)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C or kill; the runs in flight saved their records)",
}
EXIT_HELP = "Exit status: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()) + "."
DATA_ROOT_HELP = f"MNIST folder, torchvision layout (default: ${ENV_VAR} or ~/.cache/s6lib/data)"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except (ConfigError, DataError, RecordError, RecordInUse) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except RunFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_RUN_FAILED
    except KeyboardInterrupt:  # the run has already saved its record as "interrupted"
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each default, except None: there the help text says what happens."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    formatter = _Formatter
    parser = argparse.ArgumentParser(prog="s6", description="Train and inspect Net6 and its variants on MNIST.",
                                     formatter_class=formatter, epilog=EXIT_HELP)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train one recipe with one seed; write a run record",
                                formatter_class=formatter, epilog=EXIT_HELP)
    _run_options(train)
    train.add_argument("--seed", type=int, default=1, help="seed for torch, numpy and the augmentation")
    train.add_argument("--out", type=Path, default=None,
                       help="run record to write (default: my-runs/<recipe>-<model>-s<seed>.json)")
    train.add_argument("--save-model", type=Path, default=None, metavar="PATH",
                       help="also save the final weights there when the run completes (a .pt checkpoint)")
    train.set_defaults(command=_train)

    sweep = commands.add_parser("sweep", help="train a recipe over several seeds and models into a folder of records",
                                formatter_class=formatter, epilog=EXIT_HELP)
    _run_options(sweep)
    sweep.add_argument("--seeds", type=int, nargs="+", default=None,
                       help="seeds to run (default: 1 2 3; with --plan, the plan's seeds, which this filters)")
    sweep.add_argument("--models", nargs="+", default=None, metavar="MODEL",
                       help=f"model variants to run (default: the recipe's); choose from: {', '.join(VARIANTS)}")
    sweep.add_argument("--out-dir", type=Path, default=None,
                       help="folder for the records (default: runs/sweep; with --plan, book/runs/<gpu or cpu>, "
                            "by the device)")
    sweep.add_argument("--force", action="store_true", help="rerun runs that already have a finished record")
    sweep.add_argument("--plan", default=None, nargs="+", choices=list(PLANS),
                       help="run one or more plans of s6lib/lab/experiments.py (their recipes, models and seeds) "
                            "instead of --recipe/--models: each run whose record is missing or has another config")
    sweep.add_argument("--jobs", type=int, default=None,
                       help="training processes side by side, each with --threads threads (default 1): "
                            "default, the CPUs here on the CPU and 1 on a GPU")
    sweep.add_argument("--only", nargs="+", default=None, metavar="EXPERIMENT",
                       help="with --plan: only these experiments")
    sweep.add_argument("--list", action="store_true",
                       help="with --plan: list the plan's runs and the state of their records; train nothing")
    sweep.set_defaults(command=_sweep, recipe=None)  # recipe None: "original", or the plan's with --plan

    bench = commands.add_parser("bench", help="time each recipe to a run that meets the bar on one core and on all "
                                "cores, then Net6's epochs with each pipeline and engine; write a benchmark record",
                                formatter_class=formatter)
    bench.add_argument("--recipe", default="original", choices=RECIPE_CHOICES,
                       help="recipe every configuration trains")
    bench.add_argument("--epochs", type=int, default=20, help="timed epochs per configuration (pipeline A: at most 5)")
    bench.add_argument("--warmup", type=int, default=1, help="untimed epochs before the timed ones")
    bench.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    bench.add_argument("--workers-max", default="auto",
                       help="DataLoader workers of the 'all workers' configuration: auto (the CPUs here) or N")
    bench.add_argument("--engine", default="auto", choices=ENGINES, help="engine of the fast-path configuration")
    bench.add_argument("--seed", type=int, default=1, help="seed of every configuration's run")
    bench.add_argument("--sweep-epochs", type=int, default=2,
                       help="epochs of each run of the sweep-throughput rows (1 job, and one job per CPU core)")
    bench.add_argument("--bar-epochs", type=int, default=2,
                       help="timed epochs of each recipe (original, fast, short) for its time to the bar, on one "
                            "core and on all cores; 0 leaves the time to the bar out")
    bench.add_argument("--runs-dir", type=Path, default=Path("book/runs"),
                       help="records whose verdict on the bar the time-to-bar rows state")
    bench.add_argument("--data-root", type=Path, default=None, help=DATA_ROOT_HELP)
    bench.add_argument("--limit-train", type=int, default=None, metavar="N", help="train on the first N images only")
    bench.add_argument("--limit-test", type=int, default=None, metavar="N", help="test on the first N images only")
    bench.add_argument("--out-dir", type=Path, default=Path("runs/bench"),
                       help="folder for the record, named after the device")
    bench.set_defaults(command=_bench)

    summary = commands.add_parser("summary", help="print a model's torchinfo table and receptive-field table",
                                  formatter_class=formatter)
    summary.add_argument("--model", default="net6", choices=list(VARIANTS), metavar="MODEL",
                         help=f"model variant; choose from: {', '.join(VARIANTS)}")
    summary.set_defaults(command=_summary)

    digit = commands.add_parser("export-digit", help="export a trained checkpoint for the draw-a-digit page: "
                                "its layers and weights for the page's JavaScript, and sample test digits",
                                formatter_class=formatter)
    digit.add_argument("--checkpoint", type=Path, default=Path("book/model/fast-s1.pt"),
                       help="weights saved by `train --save-model` (its record beside it, same name, .json)")
    digit.add_argument("--out-dir", type=Path, default=Path("_build/vendor_site/draw"),
                       help="folder for net6.json and digits.json (the site serves _build/vendor_site)")
    digit.add_argument("--data-root", type=Path, default=None, help=DATA_ROOT_HELP)
    digit.set_defaults(command=_export_digit)

    data = commands.add_parser("data", help="find (or download) MNIST and check its MD5s",
                               formatter_class=formatter)
    data.add_argument("--data-root", type=Path, default=None, help=DATA_ROOT_HELP)
    data.set_defaults(command=_data)

    check = commands.add_parser("check-workbook", formatter_class=formatter,
                                help="check a backprop sheet (.xlsx): recompute it from its own inputs and name "
                                     "the first wrong cell, with its likely cause")
    check.add_argument("workbook", type=Path, help="the .xlsx to check (any layout: quantities are found by value)")
    check.set_defaults(command=_check_workbook)

    report = commands.add_parser("class-report", help="a class's run records of one recipe (one seed per student): "
                                 "each validated, the spread of final accuracies, figures and a table",
                                 formatter_class=formatter)
    report.add_argument("folder", type=Path, help="the folder of the students' run records (*.json, read recursively)")
    report.add_argument("--recipe", default="fast", choices=RECIPE_CHOICES, help="the recipe every student trained")
    report.add_argument("--out-dir", type=Path, default=Path("class-report"), help="folder for the figures (PNG)")
    report.set_defaults(command=_class_report)
    return parser


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recipe", default="original", choices=RECIPE_CHOICES,
                        help="named recipe (s6lib/mnist/recipes.py); original is the assignment's")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    parser.add_argument("--lr", type=float, default=None, help="override the recipe's learning rate")
    parser.add_argument("--batch-size", type=int, default=None, help="override the recipe's training batch size")
    parser.add_argument("--model", default=None, choices=list(VARIANTS), metavar="MODEL",
                        help=f"override the recipe's model variant; choose from: {', '.join(VARIANTS)}")
    parser.add_argument("--data-root", type=Path, default=None, help=DATA_ROOT_HELP)
    parser.add_argument("--limit-train", type=int, default=None, metavar="N", help="train on the first N images only")
    parser.add_argument("--limit-test", type=int, default=None, metavar="N", help="test on the first N images only")
    parser.add_argument("--dry-run", action="store_true", help="one epoch of a few batches, to check that it all runs")
    parser.add_argument("--workers", type=int, default=WORKERS, help="DataLoader worker processes (pipeline A)")
    parser.add_argument("--engine", default="auto", choices=ENGINES,
                        help="training step: auto (a CUDA graph for pipeline B on CUDA, else eager), eager or graph")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="auto: bf16 autocast + channels_last where the device computes bf16 natively "
                             "(CUDA 8.0+, CPUs with AVX512-BF16 or AMX), else float32")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars (default: only at a terminal and not in CI)")


def _recipe(args: argparse.Namespace):
    overrides = {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size, "model": args.model}
    return dataclasses.replace(get_recipe(args.recipe or "original"),
                               **{k: v for k, v in overrides.items() if v is not None})


def _plan_jobs(args: argparse.Namespace) -> tuple[list, Path]:
    """The jobs of each --plan, plan by plan and seed by seed within a plan (a stopped sweep leaves
    whole seeds), each record once, and the out-dir."""

    given = [flag for flag, value in (("--epochs", args.epochs), ("--lr", args.lr), ("--batch-size", args.batch_size),
                                      ("--model", args.model), ("--models", args.models),
                                      ("--recipe", args.recipe)) if value]
    if given:
        raise ConfigError(f"{given[0]} cannot be combined with --plan: a plan fixes its recipes and models "
                          "(s6lib/lab/experiments.py)")
    out_dir = args.out_dir
    if out_dir is None:
        out_dir = RUNS_DIR / device_class(str(resolve_device(args.device)))
    jobs: dict[Path, Job] = {}
    for plan in args.plan:
        only = [key for key in args.only if key in {e.key for e in PLANS[plan]}] if args.only else None
        runs = planned_runs(plan, only=only, seeds=args.seeds) if only != [] else []
        for planned in sorted(runs, key=lambda planned: planned.seed):
            jobs.setdefault(out_dir / planned.path, Job(planned.recipe, planned.seed, out_dir / planned.path))
    if args.only:
        known = {e.key for plan in args.plan for e in PLANS[plan]}
        unknown = sorted(set(args.only) - known)
        if unknown:
            raise ConfigError(f"experiment {unknown[0]!r} is not in plan(s) {', '.join(args.plan)}; choose from: "
                              f"{', '.join(sorted(known))}")
    changed = [flag for flag, on in (("--limit-train", args.limit_train is not None),
                                     ("--limit-test", args.limit_test is not None), ("--dry-run", args.dry_run),
                                     ("--workers", args.workers != WORKERS)) if on]
    if changed:
        print(f"note: with {', '.join(changed)} these runs differ from the plan's: the book ignores their records "
              "and the tests call them stale (fine for a try-out outside book/runs)", file=sys.stderr)
    return list(jobs.values()), out_dir


def _threads(args: argparse.Namespace) -> int | None:
    """--threads, checked: at least 1, and at most the CPUs here (more are slower: a note, and the CPUs)."""
    if args.threads is None:
        return None
    if args.threads < 1:
        raise ConfigError(f"--threads {args.threads}: must be >= 1")
    cpus = available_cpus()
    if args.threads > cpus:
        print(f"note: --threads {args.threads} is more than the {cpus} CPUs here; using {cpus}", file=sys.stderr)
        return cpus
    return args.threads


def _train_kwargs(args: argparse.Namespace) -> dict:
    """train.run's keyword arguments from the command line (all but recipe, seed and out)."""
    if args.workers < 0:
        raise ConfigError(f"--workers {args.workers}: must be >= 0")
    return dict(device=args.device, data_root=args.data_root, limit_train=args.limit_train,
                limit_test=args.limit_test, dry_run=args.dry_run, num_workers=args.workers, engine=args.engine,
                precision=args.precision, progress=args.progress)


def _default_name(recipe, seed: int) -> str:
    return f"{recipe.name}-{recipe.model}-s{seed}.json"


def _train(args: argparse.Namespace) -> int:
    recipe = _recipe(args)
    threads = _threads(args)
    if threads:
        torch.set_num_threads(threads)
    out = args.out or default_record_path(recipe, args.seed)
    record = run(recipe, seed=args.seed, out=out, save_model=args.save_model, **_train_kwargs(args))
    print(f"{record['status']}: wrote {out}")
    return EXIT_DIVERGED if record["status"] == "diverged" else 0


def _sweep(args: argparse.Namespace) -> int:

    if args.plan is not None:
        jobs, out_dir = _plan_jobs(args)
    else:
        if args.only or args.list:
            raise ConfigError("--only and --list need --plan")
        base = _recipe(args)
        out_dir = args.out_dir or Path("runs/sweep")
        jobs = [Job(r, s, out_dir / _default_name(r, s))
                for r in (dataclasses.replace(base, model=m) for m in (args.models or [base.model]))
                for s in (args.seeds or [1, 2, 3])]
    options = _train_kwargs(args)
    if args.list:
        return _list_plan(args, jobs, out_dir, options)
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs {args.jobs}: must be >= 1")
    processes = args.jobs or (available_cpus() if resolve_device(args.device).type == "cpu" else 1)
    threads = _threads(args)
    if processes == 1 and threads:
        torch.set_num_threads(threads)
    counts = run_jobs(jobs, options, processes=processes, threads=threads, force=args.force)
    print(f"sweep finished: {counts['complete']} complete, {counts['diverged']} diverged, "
          f"{counts['skipped']} skipped (already done) in {out_dir}")
    return EXIT_DIVERGED if counts["diverged"] else 0


def _list_plan(args: argparse.Namespace, jobs: list, out_dir: Path, options: dict) -> int:
    """Print each planned run and the state of its record in out_dir, every record that does not validate
    too (then exit status 2); train nothing."""
    missing, invalid = 0, []
    for job in jobs:
        config = run_config(job.recipe, seed=job.seed, limit_train=options["limit_train"],
                            limit_test=options["limit_test"], dry_run=options["dry_run"],
                            num_workers=options["num_workers"])
        if not job.out.exists():
            state = "missing"
        else:
            try:
                old = load_record(job.out)
                state = old["status"] if old["config_fingerprint"] == fingerprint(config) else "stale (another config)"
            except RecordError as err:
                state = "invalid"
                invalid.append(err)
        missing += state != "complete"
        print(f"{job.out}  {job.recipe.model}  {state}")
    plans = " + ".join(repr(plan) for plan in args.plan)
    print(f"{len(jobs) - missing} of {len(jobs)} runs of plan {plans} complete in {out_dir}; {missing} to run")
    for err in invalid:
        print(f"error: {err}", file=sys.stderr)
    if invalid:
        print(f"error: {len(invalid)} record(s) do not validate (above): fix or delete them, then run the sweep",
              file=sys.stderr)
        return EXIT_USAGE
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.workers_max != "auto" and not args.workers_max.isdigit():
        raise ConfigError(f"--workers-max {args.workers_max!r}: auto or a number >= 0")
    record = bench(get_recipe(args.recipe), epochs=args.epochs, warmup=args.warmup, device=args.device,
                   workers_max=None if args.workers_max == "auto" else int(args.workers_max), engine=args.engine,
                   seed=args.seed, data_root=args.data_root, limit_train=args.limit_train,
                   limit_test=args.limit_test, sweep_epochs=args.sweep_epochs, bar_epochs=args.bar_epochs,
                   runs_dir=args.runs_dir)
    out = write_bench_record(record, args.out_dir / file_name(record["environment"]["device_name"]))
    print(table(record))
    print(f"wrote {out}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    model = build_model(args.model)
    print(summary(model))
    print(f"parameters: {count_parameters(model):,} held, {count_used_parameters(model):,} in layers that run\n")
    print(receptive_field_table(model).to_string())
    return 0


def _export_digit(args: argparse.Namespace) -> int:
    if not args.checkpoint.exists():
        raise ConfigError(f"no checkpoint at {args.checkpoint}: make one with `python -m s6lib train --recipe fast "
                          f"--seed 1 --save-model {args.checkpoint} --out {args.checkpoint.with_suffix('.json')}`")
    for path in write_site_files(args.checkpoint, args.out_dir, root=args.data_root):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


def _data(args: argparse.Namespace) -> int:
    root = prepare_mnist(args.data_root)
    print(f"MNIST ready in {root / 'MNIST' / 'raw'}: {', '.join(RAW_MD5)} (MD5 checked)")
    return 0


def _check_workbook(args: argparse.Namespace) -> int:
    from .backprop.workbook_check import check_workbook

    result = check_workbook(args.workbook)
    if result.problem:
        print(f"error: {result.problem}", file=sys.stderr)
        return EXIT_USAGE
    print(result)
    return 0 if result.ok else EXIT_DIVERGED


def _class_report(args: argparse.Namespace) -> int:
    from .analysis.class_report import read_class, write_figures

    report = read_class(args.folder, recipe=args.recipe)
    for rejected in report.rejected:
        print(f"left out: {rejected.file}: {rejected.reason}")
    if report.students.empty:
        raise RecordError(f"no record in {args.folder} is a complete run of the {args.recipe} recipe: "
                          "nothing to report")
    print(report.table())
    for path in write_figures(report, args.out_dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
