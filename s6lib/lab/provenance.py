"""Where a result came from: device, package versions, code version.

One place for these facts: run records (`s6lib.mnist.train`) and the book's status
page both read them from here. torch is imported only when a device is named.
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

# The packages whose versions a reader needs to reproduce a page or a run.
PACKAGES = (
    "s6lib", "torch", "torchvision", "numpy", "sympy", "pandas", "matplotlib",
    "ipywidgets", "openpyxl", "torchinfo", "tqdm", "jupyter-book", "myst-nb", "sphinx",
)


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    """Installed version of Python and of each package (None where it is not installed)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device) -> str:
    """E.g. 'NVIDIA H100 80GB HBM3', or the CPU model with its core count."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    return f"{cpu_model()} ({os.cpu_count()} cores)"


def run_environment(device) -> dict:
    """The `environment` of a run record (its schema is in s6lib.lab.records)."""
    import torch
    import torchvision

    device = torch.device(device)
    return {
        "device": str(device),
        "device_name": device_name(device),
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
    }


def git_info() -> dict:
    """The commit of the checkout s6lib runs from, and whether s6lib/ differs from it
    (changed or untracked files); None for both outside a checkout."""

    def git(*args: str) -> str:  # run in s6lib/, this module's package's parent
        return subprocess.run(["git", *args], cwd=Path(__file__).parents[1], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--", "."))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
