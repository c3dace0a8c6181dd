"""Shared fixtures and helpers: where the repository and MNIST are, one book build per session, and the
synthetic run and benchmark records the tests of the records' readers write."""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from s6lib.lab import experiments as ex
from s6lib.lab import records

ROOT = Path(__file__).resolve().parents[1]
# Where the tests build the book: <repo>/_build by default; S6_BUILD_OUT=<dir> builds into <dir>/_build,
# so that several checkouts' or people's test runs on one machine do not overwrite each other's site.
BUILD_OUT = Path(os.environ["S6_BUILD_OUT"]) if os.environ.get("S6_BUILD_OUT") else None
BUILD = (BUILD_OUT or ROOT) / "_build"
HTML = BUILD / "html"
SHARED_DATA = ROOT.parent / "shared" / "data"
CHECKPOINT = ROOT / "book" / "model" / "fast-s1.pt"  # the draw page's network, with its run record beside it

# CI and the course's offline machines keep MNIST beside the repository.
if "S6_DATA_DIR" not in os.environ and (SHARED_DATA / "MNIST").is_dir():
    os.environ["S6_DATA_DIR"] = str(SHARED_DATA)


def pytest_collection_modifyitems(items):
    """Every test that needs the built book is slow (the build takes minutes)."""
    for item in items:
        if "built_site" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


def toc_pages() -> list[str]:
    """Every page of the book, as a path without suffix, in book order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [chapter["file"] for chapter in part.get("chapters", [])]
    return pages


def build_book(source: Path, out: Path | None = None) -> subprocess.CompletedProcess:
    """`jupyter-book build` exactly as `make book` runs it (-W, --all)."""
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(source),
           "--all", "-W", "--keep-going", "--builder", "html"]
    if out is not None:
        cmd += ["--path-output", str(out)]
    return subprocess.run(cmd, cwd=source, capture_output=True, text=True)


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """MNIST's root, prepared offline. Skipped where the data is absent, but never in CI."""
    from s6lib.mnist.data import ENV_VAR, DataError, prepare_mnist

    try:
        return prepare_mnist(download=False)
    except DataError as err:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have MNIST (set {ENV_VAR}): {err}")
        pytest.skip(f"MNIST is not available (set {ENV_VAR}): {err}")


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: tiny steps do not share well, and on a busy 2-core machine two
    threads mostly wait for each other (up to 20 times slower)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_run(mnist_root, recipe_name: str = "fast", out=None, engine: str = "auto", precision: str = "auto",
              **changes) -> dict:
    """A named recipe, 2 epochs of 64-image batches on 256 training and 256 test images, seed 3, on the CPU
    (`changes` override recipe fields): the run record."""
    from s6lib.mnist import train
    from s6lib.mnist.recipes import RECIPES

    recipe = dataclasses.replace(RECIPES[recipe_name], **{"epochs": 2, "batch_size": 64, **changes})
    return train.run(recipe, seed=3, device="cpu", data_root=mnist_root, out=out, limit_train=256, limit_test=256,
                     engine=engine, precision=precision, progress=False, log=lambda *a: None)


def numbers(record: dict) -> list[dict]:
    """A record's epoch rows without their timings and empty columns: what must repeat exactly."""
    return [{k: v for k, v in row.items() if k != "seconds" and v is not None} for row in record["epochs"]]


@pytest.fixture(scope="session")
def built_site() -> Path:
    """The built book: built once per test session (S6_REUSE_BUILD=1 reuses an existing one)."""
    if not (os.environ.get("S6_REUSE_BUILD") == "1" and (HTML / "index.html").exists()):
        subprocess.run(["make", "vendor", "digit"], cwd=ROOT, check=True, capture_output=True)
        shutil.rmtree(HTML, ignore_errors=True)  # a clean build: no page left over from an older one
        result = build_book(ROOT, BUILD_OUT)
        BUILD.mkdir(parents=True, exist_ok=True)
        (BUILD / "build.log").write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            pytest.fail("the book build failed (full log: _build/build.log):\n"
                        f"{(result.stdout + result.stderr)[-6000:]}")
    return HTML


# --- the browser tests' site and browser ------------------------------------------------------------


@pytest.fixture(scope="module")
def site_url(built_site):
    """Serve the built site on localhost, as a static host would."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from browser import CHROMIUM, CHROMIUM_ARGS

    playwright = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements.txt")
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (Debian: apt-get install chromium)", pytrace=False)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# --- synthetic records ------------------------------------------------------------------------------


ROW = {"epoch": 1, "lr": 0.01, "train_loss": 0.5, "train_acc": 85.0, "val_loss": None, "val_acc": None,
       "test_loss": 0.1, "test_acc": 97.0, "seconds": 3.2}


def make_record(status="complete") -> dict:
    """A small valid record of the original recipe (one epoch, 500 test images)."""
    from s6lib.lab.records import new_record
    from s6lib.mnist.engine import engine_record

    config = {"recipe": {"name": "seed", "epochs": 1}, "seed": 1, "limit_train": None, "limit_test": 500,
              "dry_run": False, "num_workers": 2}
    model = {"name": "net6", "spec": {"channels": [4, 8, 24, 48, 10]}, "parameters": 17022}
    environment = {
        "device": "cpu", "device_name": "CPU (2 cores)", "threads": 2, "python": "3.11", "platform": "Linux",
        "torch": "2", "torchvision": "0", "cuda": None, "cudnn": None,
    }  # fmt: skip
    record = new_record(config, model, environment, {"commit": None, "dirty": None}, engine_record("eager", "float32"))
    record.update(status=status, epochs=[dict(ROW)], misclassified=[[3, 5], [7, 1]],
                  finished_utc=records.utc_now(), seconds=3.3)
    return record


ENVIRONMENTS = {
    "gpu": {"device": "cuda:0", "device_name": "NVIDIA H100 80GB HBM3", "threads": 16, "python": "3.11",
            "platform": "Linux", "torch": "2.14.1", "torchvision": "0.29.1", "cuda": "13.0", "cudnn": 91000},
    "cpu": {"device": "cpu", "device_name": "Intel(R) Xeon(R) Processor (2 cores)", "threads": 2, "python": "3.11",
            "platform": "Linux", "torch": "2.14.1", "torchvision": "0.29.1", "cuda": "13.0", "cudnn": None},
}


LABELS = np.arange(10_000) % 10  # synthetic test labels: 1,000 per class


def curve(final: float, epochs: int, last=None) -> list[float]:
    """Test accuracies rising to `final`; `last` overrides the last few epochs."""
    accs = [round(final - 1.5 * 0.6 ** i, 2) for i in range(epochs)]
    accs[-1] = final
    if last:
        accs[-len(last):] = last
    return accs


def fake_record(planned: ex.PlannedRun, accs=None, device="gpu", status="complete", rng=None) -> dict:
    """A record for a planned run with the planned config and the given test accuracies."""
    from s6lib.mnist import models, specs
    from s6lib.mnist.engine import engine_record

    rng = rng or np.random.default_rng(planned.seed)
    recipe = planned.recipe
    accs = accs if accs is not None else curve(99.45, recipe.epochs)
    spec = specs.get_spec(recipe.model)
    model = {"name": recipe.model, "spec": specs.spec_to_dict(spec),
             "parameters": models.count_parameters(models.build_model(spec))}
    record = records.new_record(planned.config(), model, dict(ENVIRONMENTS[device]),
                                {"commit": None, "dirty": None}, engine_record("eager", "float32"))
    record["epochs"] = [dict(epoch=i + 1, lr=0.01, train_loss=0.1, train_acc=98.0, val_loss=None,
                             val_acc=None, test_loss=0.02, test_acc=float(a), seconds=2.0) for i, a in enumerate(accs)]
    if status == "complete":
        wrong = rng.choice(len(LABELS), size=round((100 - accs[-1]) * 100), replace=False)
        predicted = (LABELS[wrong] + 1 + rng.integers(0, 9, len(wrong))) % 10
        record["misclassified"] = [[int(i), int(p)] for i, p in zip(wrong, predicted)]
        record["finished_utc"] = records.utc_now()
    if status == "diverged":
        record.update(diverged_at={"epoch": len(accs) + 1, "step": 10}, message="non-finite loss")
    record.update(status=status, seconds=30.0)
    return records.validate(record)


def write(runs_dir, planned, device="gpu", **kwargs):
    return records.write_record(fake_record(planned, device=device, **kwargs), runs_dir / device / planned.path)


def planned(key: str, seed: int) -> ex.PlannedRun:
    return next(r for r in ex.all_planned_runs().values() if r.key == key and r.seed == seed)


def val_record(exp, seed, accs, parameters=None) -> dict:
    """A complete validation-split record of the planned run (`exp`, `seed`) whose last epochs have the
    validation accuracies `accs` (the earlier ones 98.0)."""
    from s6lib.mnist.models import build_model, count_parameters

    run = next(r for r in ex.planned_runs([exp]) if r.seed == seed)
    record = make_record()
    record["config"] = run.config()
    record["config_fingerprint"] = run.fingerprint()
    accs = [98.0] * (run.recipe.epochs - len(accs)) + list(accs)
    record["model"]["parameters"] = parameters or count_parameters(build_model(run.recipe.model))
    record["misclassified"] = None
    record["epochs"] = [dict(epoch=i + 1, lr=0.01, train_loss=0.1, train_acc=99.0, val_loss=0.02, val_acc=a,
                             test_loss=None, test_acc=None, seconds=1.0) for i, a in enumerate(accs)]
    return record


def write_round(tmp_path, group, accs_by_key, parameters=None, number=1):
    for exp in ex.ROUNDS[group][number - 1]:
        for seed in exp.seeds:
            accs = accs_by_key.get(exp.key, [99.0, 99.1, 99.2, 99.3])
            records.write_record(val_record(exp, seed, accs, parameters), tmp_path / "cpu" / f"{exp.key}-s{seed}.json")


RATE = {"gflops": 330.0, "peak": {"gflops": 989_400.0, "basis": "datasheet"}, "fraction_of_peak": 330.0 / 989_400.0}


def make_bench(epochs=20) -> dict:
    """A valid benchmark record of an H100 (schema BENCH_SCHEMA_VERSION), `epochs` timed epochs a config."""
    from s6lib.mnist.engine import engine_record

    eager = engine_record("eager", "float32")
    environment = {
        "device": "cuda:0", "device_name": "NVIDIA H100 80GB HBM3", "threads": 16, "python": "3.11",
        "platform": "Linux", "torch": "2", "torchvision": "0", "cuda": "13.0", "cudnn": 91000,
    }  # fmt: skip

    def row(name, pipeline, workers, engine, seconds):
        return {"name": name, "pipeline": pipeline, "workers": workers, "engine": engine,
                "epoch_seconds": [seconds] * epochs, "seconds_per_epoch": seconds, "seconds_20_epochs": 20 * seconds,
                "measured_20_epochs": 20 * seconds if epochs == 20 else None,
                "speedup": {"A, 2 workers": 4.0 / seconds, "A, all workers": 2.0 / seconds}, "test_acc": 99.1,
                **RATE}

    graph = {"step": "cuda-graph", "precision": "bf16-autocast", "fallback": None, "capture_seconds": 0.8}

    def to_bar(recipe, seconds, epochs, meets, lowest):
        verdict = {"experiment": recipe, "planned": 5, "complete": 5, "lowest": lowest, "meets": meets}
        return {"recipe": recipe, "cores": 16, "threads": 16, "workers": 0, "pipeline": "B", "engine": dict(graph),
                "epoch_seconds": [seconds], "seconds_per_epoch": seconds, "epochs": epochs,
                "run_seconds": seconds * epochs, "records": verdict,
                "seconds_to_bar": seconds * epochs if meets else None,
                **RATE, "fraction_of_ceiling": 0.01}

    return {
        "schema_version": records.BENCH_SCHEMA_VERSION, "kind": "bench", "recipe": {"name": "seed"}, "seed": 1,
        "warmup_epochs": 1, "epochs": epochs, "limit_train": None, "limit_test": None, "workers_max": 16,
        "startup_seconds": 0.5,
        "flops": {"train_per_image": 6.2e6, "eval_per_image": 2.1e6, "train_images": 59_904, "eval_images": 10_000,
                  "method": "torch.utils.flop_counter"},
        "ceiling": {"clock_ghz": None, "clock_source": "not a CPU", "nominal_ghz": None, "matmul_size": 2048,
                    "rows": [{"cores": 16, "matmul_gflops": 33_000.0, "peak": RATE["peak"]}]},
        "time_to_bar": [to_bar("seed", 2.0, 20, False, 99.18), to_bar("fast", 0.5, 15, True, 99.43)],
        "configs": [row("A, 2 workers", "A", 2, eager, 4.0), row("A, all workers", "A", 16, eager, 2.0),
                    row("B, float32", "B", 0, eager, 0.4), row("B, fast path", "B", 0, graph, 0.1)],
        "sweeps": [{"jobs": 1, "threads": 16, "runs": 1, "epochs_per_run": 2, "seconds": 1.0, "epochs_per_hour": 7200.0,
                    "runs_per_hour": 480.0, "speedup": {"A, 2 workers": 8.0, "A, all workers": 4.0}, **RATE}],
        "environment": environment, "git": {"commit": None, "dirty": None}, "started_utc": records.utc_now(),
        "finished_utc": records.utc_now(), "seconds": 60.0,
    }


def repository_archive(files: dict[str, bytes], top: str = "s6-site-main") -> bytes:
    """A .tar.gz laid out as GitHub serves a branch: everything under one top folder."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def page_input(pixels):
    """What the draw page feeds the network for 28×28 MNIST pixels (0-255): [0, 1], then normalized."""
    import torch

    from s6lib.mnist.data import MEAN, STD

    return (torch.as_tensor(np.asarray(pixels), dtype=torch.float32).view(-1, 1, 28, 28) / 255 - MEAN) / STD
