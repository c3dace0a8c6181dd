"""How close to the hardware: the FLOPs of a training step and the device's peak, said how.

FLOPs are counted by `torch.utils.flop_counter.FlopCounterMode` (convolutions and matrix products,
forward and backward; the elementwise work of ReLU, BatchNorm and the optimizer is not counted,
so the achieved rate is a floor). The peak is arithmetic, not a measurement:

- a CPU: cores × clock × vector lanes × FMA units × 2 FLOP per fused multiply-add, with the lanes
  from the widest vector extension the CPU reports (AVX-512: 16 float32 lanes, AVX2: 8) but at most
  the width of its FMA datapath (AMD's Zen 4, family 25, runs AVX-512 on 256-bit pipes: 8 lanes),
  2 FMA units per core (what current x86 server cores have; the CPU does not report it), and for
  bf16 twice the float32 rate with AVX512-BF16 (each 32-bit lane holds two bf16 products) or 1,024
  FLOP per cycle per core with AMX. The clock is measured (`measure_clock_ghz`: a chain
  of dependent integer adds, one per cycle) where a C compiler is at hand: a virtual machine's
  /proc/cpuinfo shows the nominal rate, below the clock the cores run at under load;
- a GPU: the datasheet's dense rate for the precision (no sparsity), by device name.

Beside the arithmetic peak stands a measured ceiling (`matmul_ceiling`): the rate of a large float32
matrix product on the same number of cores, what the BLAS reaches on this machine.

torch is imported by the two functions that run it (`step_flops`, `matmul_ceiling`), so that lab/
loads without it.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .provenance import device_name

if TYPE_CHECKING:
    import torch

FMA_UNITS = 2  # per x86 server core: not reported by the CPU, so assumed (and said) here
AMX_BF16_FLOP_PER_CYCLE = 1024  # per core, Intel's figure for AMX-BF16
# Datasheet dense TFLOP/s by (name fragment, precision); the first fragment found in the name is used.
GPU_DATASHEET = (
    ("H200", {"float32": 67.0, "bf16-autocast": 989.4},
     "NVIDIA H200 datasheet (SXM): FP32 67, BF16 Tensor 989 TFLOPS dense"),
    ("H100 PCIe", {"float32": 51.2, "bf16-autocast": 756.0},
     "NVIDIA H100 datasheet (PCIe): FP32 51, BF16 Tensor 756 TFLOPS dense"),
    ("H100", {"float32": 67.0, "bf16-autocast": 989.4},
     "NVIDIA H100 datasheet (SXM): FP32 67, BF16 Tensor 989 TFLOPS dense"),
    ("A100", {"float32": 19.5, "bf16-autocast": 312.0},
     "NVIDIA A100 datasheet: FP32 19.5, BF16 Tensor 312 TFLOPS dense"),
)


def step_flops(model: torch.nn.Module, batch: int, train: bool) -> float:
    """FLOPs per image of one training step (forward, NLL, backward) or of one evaluation forward pass."""
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    device = next(model.parameters()).device
    x = torch.zeros(batch, 1, 28, 28, device=device)
    y = torch.zeros(batch, dtype=torch.long, device=device)
    was_training = model.training
    model.train(train)
    try:
        with FlopCounterMode(display=False) as counter:
            if train:
                F.nll_loss(model(x), y).backward()
            else:
                with torch.no_grad():
                    model(x)
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return counter.get_total_flops() / batch


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    match = re.search(r"^flags\s*:\s*(.*)$", text, re.M)
    return set(match.group(1).split()) if match else set()


def _cpu_field(name: str) -> str | None:
    try:
        match = re.search(rf"^{name}\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
    except OSError:
        return None
    return match.group(1).strip() if match else None


def nominal_ghz() -> float | None:
    """The clock the system reports: cpufreq's maximum, else the highest "cpu MHz" of /proc/cpuinfo."""
    for path in ("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq",):
        try:
            return int(Path(path).read_text()) / 1e6
        except (OSError, ValueError):
            pass
    try:
        mhz = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", Path("/proc/cpuinfo").read_text(), re.M)]
    except OSError:
        return None
    return max(mhz) / 1000 if mhz else None


ADDS_PER_LOOP = 16
_CLOCK_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
    long loops = atol(argv[1]), repeats = atol(argv[2]);
    unsigned long x = 0, one = 1;
    double fastest = 1e30;
    for (long r = 0; r < repeats; r++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (long i = 0; i < loops; i++)  /* 16 register adds, each waiting for the one before: 16 cycles */
            __asm__ volatile("add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\t"
                             "add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\t"
                             "add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0" : "+r"(x) : "r"(one));
        clock_gettime(CLOCK_MONOTONIC, &b);
        double seconds = (b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec);
        if (seconds < fastest) fastest = seconds;
    }
    printf("%.9f %lu\n", fastest, x);
    return 0;
}
"""


@lru_cache(maxsize=1)
def measure_clock_ghz(loops: int = 100_000, repeats: int = 500) -> float | None:
    """The core clock under load, in GHz: 16 dependent register adds per loop take 16 cycles on any
    x86-64 core, so cycles / seconds is the clock. The fastest of `repeats` short timings (about a
    millisecond each) counts: a core taken away by the host or another process only slows a repeat.
    None where this is not x86-64 or no C compiler is found."""
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if platform.machine() not in ("x86_64", "AMD64") or compiler is None:
        return None
    with tempfile.TemporaryDirectory(prefix="s6-clock-") as folder:
        source, program = Path(folder) / "clock.c", Path(folder) / "clock"
        source.write_text(_CLOCK_PROGRAM)
        try:
            subprocess.run([compiler, "-O1", "-o", str(program), str(source)], check=True, capture_output=True,
                           timeout=60)
            seconds = float(subprocess.run([str(program), str(loops), str(repeats)], check=True, capture_output=True,
                                           text=True, timeout=60).stdout.split()[0])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            return None
    return loops * ADDS_PER_LOOP / seconds / 1e9 if seconds > 0 else None


def clock() -> dict:
    """{"ghz", "source"}: the measured clock where it can be measured, else the nominal one (said so);
    "ghz" None where neither is known."""
    measured = measure_clock_ghz()
    if measured is not None:
        return {"ghz": measured, "source": f"measured ({ADDS_PER_LOOP} dependent adds per loop)"}
    return {"ghz": nominal_ghz(), "source": "nominal (/proc/cpuinfo or cpufreq), not measured"}


MATMUL_SIZE = 2048  # n of the ceiling's n×n float32 matrix product: large enough for the BLAS's best rate


def matmul_ceiling(threads: int, n: int = MATMUL_SIZE, repeats: int = 5, device=None) -> float:
    """GFLOP/s of the fastest of `repeats` float32 n×n matrix products (2n³ FLOPs) on `threads` torch threads
    (a CPU) or on `device`."""
    import torch

    device = torch.device(device or "cpu")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
        torch.mm(a, b).sum().item()  # the first call sets up the BLAS's buffers and threads
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(a, b).sum().item()  # .item(): a GPU has finished the product when the clock stops
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    return 2 * n**3 / best / 1e9


def _fma_lanes(flags: set[str]) -> tuple[int, str]:
    """float32 lanes of one FMA instruction's datapath, and the extension's name."""
    if "avx512f" in flags:
        if _cpu_field("vendor_id") == "AuthenticAMD" and _cpu_field("cpu family") == "25":
            return 8, "AVX-512 on 256-bit FMA pipes (AMD family 25, Zen 4)"
        return 16, "AVX-512"
    return (8, "AVX2") if "avx2" in flags else (4, "SSE")


def cpu_peak(cores: int, precision: str, ghz: dict | None = None) -> dict | None:
    """{"gflops", "basis"} of `cores` cores of this CPU in `precision`, or None where the clock is unknown.
    `ghz` is a `clock()` result; by default the measured clock, else the nominal one."""
    flags, ghz = _cpu_flags(), ghz or clock()
    if ghz["ghz"] is None:
        return None
    lanes, extension = _fma_lanes(flags)
    per_cycle = lanes * FMA_UNITS * 2
    how = f"{lanes} float32 lanes ({extension}) × {FMA_UNITS} FMA units × 2 FLOP"
    if precision == "bf16-autocast":
        if "amx_bf16" in flags:
            per_cycle, how = AMX_BF16_FLOP_PER_CYCLE, f"{AMX_BF16_FLOP_PER_CYCLE} bf16 FLOP per cycle (AMX)"
        elif "avx512_bf16" in flags:
            per_cycle, how = 2 * per_cycle, f"{how} × 2 bf16 per lane (AVX512-BF16)"
    gflops = cores * ghz["ghz"] * per_cycle
    return {"gflops": gflops, "basis": f"{cores} core{'s' * (cores != 1)} × {ghz['ghz']:.2f} GHz ({ghz['source']}) "
                                       f"× {how} per cycle = {gflops:,.0f} GFLOP/s ({FMA_UNITS} FMA units per core "
                                       f"assumed)"}


def gpu_peak(name: str, precision: str) -> dict | None:
    for fragment, rates, source in GPU_DATASHEET:
        if fragment.lower() in name.lower() and precision in rates:
            return {"gflops": rates[precision] * 1000, "basis": source}
    return None


def peak(device: torch.device, precision: str, cores: int) -> dict | None:
    """The peak of the device a configuration ran on ({"gflops", "basis"}), or None where unknown."""
    if device.type == "cuda":
        return gpu_peak(device_name(device), precision)
    return cpu_peak(cores, precision) if device.type == "cpu" else None
