#!/usr/bin/env bash
# The speed issue's GPU session in one short run, on one H100/H200: the benchmark, then the fast
# recipe over seeds 1-5 with the CUDA-graph engine and with eager (same accuracy?), then the
# ablation plan in the time left. About 6 minutes: benchmark ~1.5, ten fast runs ~1.5, plan <= 3.
#
# Run it from the repository root, with $OUT set, on a machine with torch, torchvision, numpy and
# tqdm (pandas, matplotlib for the plan) and MNIST copied into data/MNIST/raw/ (gitignored):
#   bash tools/gpu_session.sh
# It writes only under $OUT: session.log, bench/<device>.json, runs/{fast-graph,fast-eager,ablations}/.
set -euo pipefail
: "${OUT:?set OUT to the folder for the results}"
PYTHON="${PYTHON:-python3}"
export S6_DATA_DIR="$PWD/data" PYTHONUNBUFFERED=1
section() { echo; echo "=== $1 (at ${SECONDS} s)"; }

session() {
  section "machine"
  nvidia-smi
  "$PYTHON" -c 'import torch, torchvision; print("torch", torch.__version__, "CUDA", torch.version.cuda,
  "cuDNN", torch.backends.cudnn.version(), "torchvision", torchvision.__version__, "|", torch.cuda.get_device_name())'
  "$PYTHON" -m s6lib data  # MNIST found and MD5-checked, before any timing

  section "benchmark: pipeline A (2 and all workers), pipeline B eager, pipeline B CUDA graph"
  "$PYTHON" -m s6lib bench --epochs 20 --device cuda --workers-max auto --out-dir "$OUT/bench"

  section "same results: the fast recipe, seeds 1-5, CUDA graph then eager"
  "$PYTHON" -m s6lib sweep --recipe fast --device cuda --engine graph --seeds 1 2 3 4 5 --out-dir "$OUT/runs/fast-graph"
  "$PYTHON" -m s6lib sweep --recipe fast --device cuda --engine eager --seeds 1 2 3 4 5 --out-dir "$OUT/runs/fast-eager"

  section "ablation plan (s6lib/experiments.py), for at most 3 minutes"
  # The Part 2 work adds `sweep --plan`. `|| true` on this line only: a plan that is missing or is
  # stopped by the timeout (Ctrl-C: a run cut short is saved as "interrupted") keeps the results above.
  timeout -s INT -k 20 180 "$PYTHON" -m s6lib sweep --plan ablations --device cuda --out-dir "$OUT/runs/ablations" || true

  section "done"
}

mkdir -p "$OUT"
session 2>&1 | tee "$OUT/session.log"
