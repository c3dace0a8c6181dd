#!/usr/bin/env bash
# A GPU session in one short run, on one H100/H200: the benchmark, the fast recipe over seeds 1-5
# with the CUDA-graph engine and with eager (same accuracy?), then all three plans in one process
# for the time left. About 8 minutes: benchmark ~1.5, ten fast runs ~1.5, plans <= PLAN_SECONDS.
#
# Run it from the repository root, with $OUT set, on a machine with torch, torchvision, numpy and
# tqdm and MNIST copied into data/MNIST/raw/ (gitignored):
#   bash tools/gpu_session.sh
# The device returns at most 8 files, so everything lands in one archive, $OUT/s6-gpu.tar.gz, laid
# out as the repository is (book/runs/gpu/*.json, book/runs/checks/gpu-{graph,eager}/*.json,
# book/runs/bench/*.json), beside $OUT/session.log. Unpack it at the repository root:
#   tar -xzf s6-gpu.tar.gz
set -euo pipefail
: "${OUT:?set OUT to the folder for the results}"
PYTHON="${PYTHON:-python3}"
PLAN_SECONDS="${PLAN_SECONDS:-300}"
export S6_DATA_DIR="$PWD/data" PYTHONUNBUFFERED=1
WORK="$(mktemp -d)"  # the records, until they are packed
section() { echo; echo "=== $1 (at ${SECONDS} s)"; }

session() {
  section "machine"
  nvidia-smi
  "$PYTHON" -c 'import torch, torchvision; print("torch", torch.__version__, "CUDA", torch.version.cuda,
  "cuDNN", torch.backends.cudnn.version(), "torchvision", torchvision.__version__, "|", torch.cuda.get_device_name())'
  "$PYTHON" -m s6lib data  # MNIST found and MD5-checked, before any timing

  section "benchmark: pipeline A (2 and all workers), pipeline B float32, bf16, CUDA graph; sweep throughput"
  "$PYTHON" -m s6lib bench --epochs 20 --device cuda --workers-max auto --out-dir "$WORK/book/runs/bench"

  section "same results: the fast recipe, seeds 1-5, CUDA graph then eager"
  for engine in graph eager; do
    "$PYTHON" -m s6lib sweep --recipe fast --device cuda --engine "$engine" --seeds 1 2 3 4 5 \
      --out-dir "$WORK/book/runs/checks/gpu-$engine"
  done

  section "all three plans in one process, for at most ${PLAN_SECONDS} s"
  # The pipeline-A runs of the original recipe are slowest, so the training plan goes last.
  # `|| true` on this line only: a sweep stopped by the timeout (SIGINT: the runs in flight are
  # saved as "interrupted") keeps every finished record; the next session resumes it.
  timeout -s INT -k 30 "$PLAN_SECONDS" "$PYTHON" -m s6lib sweep --plan ablations small training --device cuda \
    --out-dir "$WORK/book/runs/gpu" || true
  "$PYTHON" -m s6lib sweep --plan ablations small training --list --out-dir "$WORK/book/runs/gpu" | tail -1

  section "done"
}

mkdir -p "$OUT"
trap 'tar -czf "$OUT/s6-gpu.tar.gz" -C "$WORK" . && echo "packed $(find "$WORK" -name "*.json" | wc -l) records into $OUT/s6-gpu.tar.gz"' EXIT
session 2>&1 | tee "$OUT/session.log"
