"""The Status page: what is recorded and where, what is still to run (and the command that runs it),
the speed benchmark, and the audit of the records. Reader pages show results; the work queue is here.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from . import experiments as ex
from .records import load_bench_record
from .runs import load_runs


def plan_table(runs_dir: Path | None) -> pd.DataFrame:
    """One row per plan: runs planned, complete on a GPU, complete on a CPU only, still to run."""
    rows = []
    for plan in ex.PLANS:
        runs = load_runs(plan, runs_dir)
        done = Counter(r.device_class for r in runs if r.complete)
        rows.append({"plan": plan, "runs": len(runs), "complete on GPU": done["gpu"],
                     "complete on CPU": done["cpu"], "still to run": len(runs) - sum(done.values())})
    return pd.DataFrame(rows)


def todo_table(runs_dir: Path | None) -> pd.DataFrame:
    """The planned runs with no complete record, one row per experiment, and the command that runs
    them (a sweep skips what is done, so the command is the whole plan's)."""
    rows, seen = [], set()
    for plan in ex.PLANS:
        missing: dict[str, list[int]] = {}
        for run in load_runs(plan, runs_dir):
            if not run.complete and (run.key, run.seed) not in seen:
                missing.setdefault(run.key, []).append(run.seed)
                seen.add((run.key, run.seed))
        rows += [{"plan": plan, "experiment": key, "seeds": ", ".join(map(str, seeds)),
                  "command": f"python -m s6lib sweep --plan {plan}"} for key, seeds in missing.items()]
    return pd.DataFrame(rows, columns=["plan", "experiment", "seeds", "command"])


def records_table(runs_dir: Path | None) -> pd.DataFrame:
    """Where the complete records came from: how many of them per device, torch, precision and commit."""
    seen: dict[str, tuple] = {}  # record path -> its provenance (a run in two plans counts once)
    for plan in ex.PLANS:
        for run in load_runs(plan, runs_dir):
            if run.complete:
                r = run.record
                commit = (r["git"]["commit"] or "none")[:10] + (" (local changes)" if r["git"]["dirty"] else "")
                seen[str(run.path)] = (r["environment"]["device_name"], r["environment"]["torch"],
                                       r["engine"]["precision"], commit)
    return pd.DataFrame([{"device": d, "torch": t, "precision": p, "commit": c, "records": n}
                         for (d, t, p, c), n in sorted(Counter(seen.values()).items())],
                        columns=["device", "torch", "precision", "commit", "records"])


def bench_records(runs_dir: Path | None) -> list[dict]:
    """Every benchmark record in the runs folder's bench/ (one per kind of device)."""
    folder = Path(runs_dir) / "bench" if runs_dir is not None else None
    return [load_bench_record(p) for p in sorted(folder.glob("*.json"))] if folder and folder.is_dir() else []


def bench_table(record: dict) -> pd.DataFrame:
    """A benchmark record as a table: seconds per epoch of each configuration and its speed-up over the
    original's pipeline, then the sweep's throughput with 1 and N jobs (also as a speed-up)."""
    reference = "A, 2 workers"
    rows = [{"configuration": c["name"],
             "step": f"{c['engine']['step']}, {c['engine']['precision']}",
             "seconds per epoch": c["seconds_per_epoch"],
             "15-epoch runs per hour": 3600 / (15 * c["seconds_per_epoch"]),
             "vs pipeline A": c["speedup"].get(reference), **_rate(c)} for c in record["configs"]]
    rows += [{"configuration": f"sweep, {w['jobs']} job{'s' * (w['jobs'] != 1)}",
              "step": f"{w['threads']} thread{'s' * (w['threads'] != 1)} each",
              "seconds per epoch": 3600 / w["epochs_per_hour"],
              "15-epoch runs per hour": w["runs_per_hour"],
              "vs pipeline A": w["speedup"].get(reference), **_rate(w)} for w in record["sweeps"]]
    return pd.DataFrame(rows)


def _rate(row: dict) -> dict:
    """GFLOP/s and the fraction of the peak of what the row ran on (None in a version 2 record)."""
    fraction = row.get("fraction_of_peak")
    return {"GFLOP/s": row.get("gflops"), "of peak": None if fraction is None else f"{fraction:.1%}"}
