"""Shared fixtures: where the repository and MNIST are, and one book build per session."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# Where the tests build the book: <repo>/_build by default; S6_BUILD_OUT=<dir> builds into <dir>/_build,
# so that several checkouts' or people's test runs on one machine do not overwrite each other's site.
BUILD_OUT = Path(os.environ["S6_BUILD_OUT"]) if os.environ.get("S6_BUILD_OUT") else None
BUILD = (BUILD_OUT or ROOT) / "_build"
HTML = BUILD / "html"
SHARED_DATA = ROOT.parent / "shared" / "data"

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
