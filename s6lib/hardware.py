"""How close to the hardware: the FLOPs of a training step and the device's peak, said how.

FLOPs are counted by `torch.utils.flop_counter.FlopCounterMode` (convolutions and matrix products,
forward and backward; the elementwise work of ReLU, BatchNorm and the optimizer is not counted,
so the achieved rate is a floor). The peak is arithmetic, not a measurement:

- a CPU: cores × clock × vector lanes × FMA units × 2 FLOP per fused multiply-add, with the lanes
  from the widest vector extension the CPU reports (AVX-512: 16 float32 lanes, AVX2: 8), 2 FMA units
  per core (what current x86 server cores have; the CPU does not report it), and for bf16 twice the
  float32 rate with AVX512-BF16 (each 32-bit lane holds two bf16 products) or 1,024 FLOP per cycle
  per core with AMX;
- a GPU: the datasheet's dense rate for the precision (no sparsity), by device name.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

FMA_UNITS = 2  # per x86 server core: not reported by the CPU, so assumed (and said) here
AMX_BF16_FLOP_PER_CYCLE = 1024  # per core, Intel's figure for AMX-BF16
# Datasheet dense TFLOP/s by (name fragment, precision); the first fragment found in the name is used.
GPU_DATASHEET = (
    ("H200", {"float32": 67.0, "bf16-autocast": 989.4}, "NVIDIA H200 datasheet (SXM): FP32 67, BF16 Tensor 989 TFLOPS dense"),
    ("H100 PCIe", {"float32": 51.2, "bf16-autocast": 756.0}, "NVIDIA H100 datasheet (PCIe): FP32 51, BF16 Tensor 756 TFLOPS dense"),
    ("H100", {"float32": 67.0, "bf16-autocast": 989.4}, "NVIDIA H100 datasheet (SXM): FP32 67, BF16 Tensor 989 TFLOPS dense"),
    ("A100", {"float32": 19.5, "bf16-autocast": 312.0}, "NVIDIA A100 datasheet: FP32 19.5, BF16 Tensor 312 TFLOPS dense"),
)


def step_flops(model: torch.nn.Module, batch: int, train: bool) -> float:
    """FLOPs per image of one training step (forward, NLL, backward) or of one evaluation forward pass."""
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


def _cpu_ghz() -> float | None:
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


def cpu_peak(cores: int, precision: str) -> dict | None:
    """{"gflops", "basis"} of `cores` cores of this CPU in `precision`, or None where the clock is unknown."""
    flags, ghz = _cpu_flags(), _cpu_ghz()
    if ghz is None:
        return None
    lanes, extension = (16, "AVX-512") if "avx512f" in flags else (8, "AVX2") if "avx2" in flags else (4, "SSE")
    per_cycle = lanes * FMA_UNITS * 2
    how = f"{lanes} float32 lanes ({extension}) × {FMA_UNITS} FMA units × 2 FLOP"
    if precision == "bf16-autocast":
        if "amx_bf16" in flags:
            per_cycle, how = AMX_BF16_FLOP_PER_CYCLE, f"{AMX_BF16_FLOP_PER_CYCLE} bf16 FLOP per cycle (AMX)"
        elif "avx512_bf16" in flags:
            per_cycle, how = 2 * per_cycle, f"{how} × 2 bf16 per lane (AVX512-BF16)"
    gflops = cores * ghz * per_cycle
    return {"gflops": gflops, "basis": f"{cores} core{'s' * (cores != 1)} × {ghz:.2f} GHz × {how} per cycle "
                                       f"= {gflops:,.0f} GFLOP/s ({FMA_UNITS} FMA units per core assumed)"}


def gpu_peak(name: str, precision: str) -> dict | None:
    for fragment, rates, source in GPU_DATASHEET:
        if fragment.lower() in name.lower() and precision in rates:
            return {"gflops": rates[precision] * 1000, "basis": source}
    return None


def peak(device: torch.device, precision: str, cores: int) -> dict | None:
    """The peak of the device a configuration ran on ({"gflops", "basis"}), or None where unknown."""
    if device.type == "cuda":
        return gpu_peak(torch.cuda.get_device_name(device), precision)
    return cpu_peak(cores, precision) if device.type == "cpu" else None
