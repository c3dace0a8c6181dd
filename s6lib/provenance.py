"""Where a result came from: package versions, device, code version, date.

One place for these facts, used by run records and by the book's status page.
Only the standard library at import time; torch is imported when asked for.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

# The packages whose versions a reader needs to reproduce a page or a run.
PACKAGES = (
    "s6lib", "torch", "torchvision", "numpy", "sympy", "pandas", "matplotlib",
    "ipywidgets", "openpyxl", "torchinfo", "tqdm",
    "jupyter-book", "myst-nb", "sphinx",
)


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    """Installed version of each package, None where it is not installed."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_name() -> str:
    """A human name for this machine's CPU, with its core count."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} cores)"


def device_name(device: str = "cpu") -> str:
    """E.g. 'NVIDIA H100 80GB HBM3' or 'AMD EPYC ... (2 cores)'."""
    if str(device).startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    return cpu_name()


def git_commit(repo: Path = Path(__file__).resolve().parents[1]) -> str | None:
    """The commit of the checkout s6lib runs from (with '+dirty' if changed); None outside git."""
    def run(*args):
        return subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        commit = run("rev-parse", "HEAD")
        return commit + ("+dirty" if run("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return None


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def environment(device: str = "cpu") -> dict:
    """Everything a run record or the status page says about where it ran."""
    import torch

    return {
        "device": str(device),
        "device_name": device_name(device),
        "cuda": torch.version.cuda,
        "cuda_driver": _cuda_driver() if str(device).startswith("cuda") else None,
        "platform": platform.platform(),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "date": utc_now(),
    }


def _cuda_driver() -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        )
        return out.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return None
