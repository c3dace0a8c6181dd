"""tools/gpu_session.sh packs every record into one archive (the device returns at most 8 files).

The GPU itself is not here: a stand-in `python` and `nvidia-smi` write records where the real
commands would, so the test checks the script's plumbing, not training."""

import os
import subprocess
import tarfile
from pathlib import Path

from conftest import ROOT

STAND_IN = r'''#!/usr/bin/env bash
# Writes three records into whatever --out-dir the command names; prints the rest.
echo "python $*" >> "$CALLS"
args=("$@")
for i in "${!args[@]}"; do
  if [ "${args[$i]}" = "--out-dir" ]; then
    dir="${args[$((i + 1))]}"; mkdir -p "$dir"
    for n in 1 2 3; do echo '{}' > "$dir/run-$RANDOM-$n.json"; done
  fi
done
'''


def test_every_record_comes_back_in_one_archive(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("python", STAND_IN), ("nvidia-smi", "#!/bin/sh\necho 'NVIDIA stand-in'\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    out, calls = tmp_path / "out", tmp_path / "calls.txt"
    env = {**os.environ, "OUT": str(out), "PYTHON": str(bin_dir / "python"), "CALLS": str(calls),
           "PATH": f"{bin_dir}:{os.environ['PATH']}", "PLAN_SECONDS": "5"}
    result = subprocess.run(["bash", "tools/gpu_session.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["s6-gpu.tar.gz", "session.log"]  # well under 8 files
    with tarfile.open(out / "s6-gpu.tar.gz") as archive:
        names = [Path(n) for n in archive.getnames() if n.endswith(".json")]
    folders = sorted({str(n.parent) for n in names})
    # bench, the graph and eager runs, and the plans (the stand-in also writes three for the --list call)
    assert folders == ["book/runs/bench", "book/runs/checks/gpu-eager", "book/runs/checks/gpu-graph",
                       "book/runs/gpu"]
    assert len(names) == 3 * 5 and f"packed {len(names)} records" in result.stdout
    assert "sweep --plan ablations small training --device cuda" in calls.read_text()
