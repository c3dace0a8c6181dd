"""Command line: `python -m s6lib {train,sweep,summary,data} ...` (installed as `s6`).

Examples:
  python -m s6lib train --recipe seed --seed 1 --device cuda --out runs/seed-s1.json
  python -m s6lib train --recipe fast --dry-run
  python -m s6lib sweep --recipe fast --seeds 1 2 3 --models net6 net6-no-dropout --out-dir runs/sweep
  python -m s6lib summary --model net6
  python -m s6lib data
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from .data import ENV_VAR, DataError
from .models import VARIANTS
from .recipes import RECIPES, ConfigError, get_recipe
from .records import RecordError
from .train import WORKERS

EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 1, 130
DATA_ROOT_HELP = f"MNIST folder, torchvision layout (default: ${ENV_VAR} or ~/.cache/s6lib/data)"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except (ConfigError, DataError, RecordError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
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
                                     formatter_class=formatter)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train one recipe with one seed; write a run record",
                                formatter_class=formatter)
    _run_options(train)
    train.add_argument("--seed", type=int, default=1, help="seed for torch, numpy and the augmentation")
    train.add_argument("--out", type=Path, default=None,
                       help="run record to write (default: runs/<recipe>-<model>-s<seed>.json)")
    train.set_defaults(command=_train)

    sweep = commands.add_parser("sweep", help="train a recipe over several seeds and models into a folder of records",
                                formatter_class=formatter)
    _run_options(sweep)
    sweep.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="seeds to run")
    sweep.add_argument("--models", nargs="+", default=None, metavar="MODEL",
                       help=f"model variants to run (default: the recipe's); choose from: {', '.join(VARIANTS)}")
    sweep.add_argument("--out-dir", type=Path, default=Path("runs/sweep"), help="folder for the records")
    sweep.add_argument("--force", action="store_true", help="rerun runs that already have a finished record")
    sweep.set_defaults(command=_sweep)

    summary = commands.add_parser("summary", help="print a model's torchinfo table and receptive-field table",
                                  formatter_class=formatter)
    summary.add_argument("--model", default="net6", choices=list(VARIANTS), metavar="MODEL",
                         help=f"model variant; choose from: {', '.join(VARIANTS)}")
    summary.set_defaults(command=_summary)

    data = commands.add_parser("data", help="find (or download) MNIST and check its MD5s",
                               formatter_class=formatter)
    data.add_argument("--data-root", type=Path, default=None, help=DATA_ROOT_HELP)
    data.set_defaults(command=_data)
    return parser


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recipe", default="seed", choices=list(RECIPES), help="named recipe (s6lib/recipes.py)")
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
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars (default: only at a terminal and not in CI)")


def _recipe(args: argparse.Namespace):
    overrides = {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size, "model": args.model}
    return dataclasses.replace(get_recipe(args.recipe), **{k: v for k, v in overrides.items() if v is not None})


def _run(args: argparse.Namespace, recipe, seed: int, out: Path) -> dict:
    import torch

    from .train import run

    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads {args.threads}: must be >= 1")
        torch.set_num_threads(args.threads)
    if args.workers < 0:
        raise ConfigError(f"--workers {args.workers}: must be >= 0")
    record = run(recipe, seed=seed, device=args.device, data_root=args.data_root, out=out,
                 limit_train=args.limit_train, limit_test=args.limit_test, dry_run=args.dry_run,
                 num_workers=args.workers, progress=args.progress)
    print(f"{record['status']}: wrote {out}")
    return record


def _default_name(recipe, seed: int) -> str:
    return f"{recipe.name}-{recipe.model}-s{seed}.json"


def _train(args: argparse.Namespace) -> int:
    recipe = _recipe(args)
    record = _run(args, recipe, args.seed, args.out or Path("runs") / _default_name(recipe, args.seed))
    return EXIT_DIVERGED if record["status"] == "diverged" else 0


def _sweep(args: argparse.Namespace) -> int:
    from .records import load_record
    from .train import run_config

    base = _recipe(args)
    runs = [(dataclasses.replace(base, model=m), s) for m in (args.models or [base.model]) for s in args.seeds]
    diverged = 0
    for i, (recipe, seed) in enumerate(runs, 1):
        out = args.out_dir / _default_name(recipe, seed)
        config = run_config(recipe, seed=seed, limit_train=args.limit_train, limit_test=args.limit_test,
                            dry_run=args.dry_run, num_workers=args.workers)
        old = load_record(out) if out.exists() and not args.force else None
        if old and old["config"] == config and old["status"] in ("complete", "diverged"):
            print(f"[{i}/{len(runs)}] {out} is {old['status']} with this config; skipped (--force reruns it)")
            continue
        print(f"[{i}/{len(runs)}] {recipe.name} {recipe.model} seed {seed}")
        diverged += _run(args, recipe, seed, out)["status"] == "diverged"
    return EXIT_DIVERGED if diverged else 0


def _summary(args: argparse.Namespace) -> int:
    from .models import build_model, count_parameters, count_used_parameters, summary
    from .receptive_field import receptive_field_table

    model = build_model(args.model)
    print(summary(model))
    print(f"parameters: {count_parameters(model):,} held, {count_used_parameters(model):,} in layers that run\n")
    print(receptive_field_table(model).to_string())
    return 0


def _data(args: argparse.Namespace) -> int:
    from .data import RAW_MD5, prepare_mnist

    root = prepare_mnist(args.data_root)
    print(f"MNIST ready in {root / 'MNIST' / 'raw'}: {', '.join(RAW_MD5)} (MD5 checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
