"""The benchmark command and its record (smoke runs on the CPU: no timing is asserted)."""

import copy
import re

import pytest
import torch

from s6lib.__main__ import main
from s6lib.lab import bench, records
from s6lib.lab.provenance import run_environment
from s6lib.lab.records import RecordError, load_bench_record, validate_bench, write_bench_record
from s6lib.lab.sweep import available_cpus
from s6lib.mnist.data import ENV_VAR
from s6lib.mnist.engine import engine_record, native_bf16

from conftest import RATE, make_bench

EAGER = engine_record("eager", "float32")


pytestmark = pytest.mark.usefixtures("one_thread")


def cpu_name() -> str:
    return run_environment(torch.device("cpu"))["device_name"]


@pytest.mark.slow  # it starts training processes for the sweep rows
def test_bench_times_every_configuration_and_writes_a_valid_record(mnist_root, capsys, tmp_path):
    argv = ["bench", "--epochs", "1", "--limit-train", "128", "--limit-test", "128", "--device", "cpu",
            "--workers-max", "1", "--sweep-epochs", "1", "--data-root", str(mnist_root), "--out-dir", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    record = load_bench_record(tmp_path / bench.file_name(cpu_name()))
    rows = {row["name"]: row for row in record["configs"]}
    bf16 = native_bf16(torch.device("cpu"))
    # On a CPU the fast path is the eager step in the best precision here: an earlier row already ran it.
    assert list(rows) == ["A, 2 workers", "A, all workers", "B, float32"] + (["B, bf16"] if bf16 else [])
    assert [row["workers"] for row in rows.values()] == [2, 1, 0] + ([0] if bf16 else [])
    assert "B, fast path: runs here exactly as " + ("'B, bf16'" if bf16 else "'B, float32'") in out
    assert rows["A, 2 workers"]["speedup"]["A, 2 workers"] == 1.0
    assert rows["A, all workers"]["speedup"]["A, all workers"] == 1.0
    for row in rows.values():
        assert len(row["epoch_seconds"]) == 1 and row["measured_20_epochs"] is None
        assert row["seconds_20_epochs"] == pytest.approx(20 * row["seconds_per_epoch"])
        assert row["speedup"]["A, 2 workers"] == pytest.approx(
            rows["A, 2 workers"]["seconds_per_epoch"] / row["seconds_per_epoch"])
    assert rows["B, float32"]["engine"] == engine_record("eager", "float32", "float32 as asked")
    if bf16:
        assert rows["B, bf16"]["engine"] == engine_record("eager", "bf16-autocast")
    sweeps = record["sweeps"]
    assert [row["jobs"] for row in sweeps] == sorted({1, available_cpus()})
    for row in sweeps:
        assert row["runs"] == row["jobs"] and row["epochs_per_run"] == 1 and row["threads"] >= 1
        assert row["epochs_per_hour"] == pytest.approx(row["runs"] * 3600 / row["seconds"])
        assert row["runs_per_hour"] == pytest.approx(row["epochs_per_hour"] / bench.PLAN_EPOCHS)
    assert record["environment"]["device"] == "cpu" and record["epochs"] == 1 and record["warmup_epochs"] == 1
    assert "B, float32: float32 as asked" in out and cpu_name() in out
    assert "runs/hour" in out


def test_a_configuration_that_cannot_run_is_refused_before_any_work(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "no-mnist-here"))  # reaching the data would fail differently
    assert main(["bench", "--device", "cpu", "--engine", "graph", "--out-dir", str(tmp_path / "out")]) == 2
    assert "engine 'graph' cannot run here: no CUDA device" in capsys.readouterr().err
    assert main(["bench", "--device", "cpu", "--workers-max", "lots"]) == 2
    assert "--workers-max 'lots': auto or a number >= 0" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_table_shows_speedups_measured_20_epochs_and_capture():
    text = bench.table(make_bench())
    fast_row = next(line for line in text.splitlines() if line.startswith("B, fast path"))
    assert "cuda-graph bf16-autocast" in fast_row and "2.00s" in fast_row  # 20 epochs, projected and measured
    assert "40.0x" in fast_row and "20.0x" in fast_row and "0.80s" in fast_row  # vs A 2 and A all; capture
    assert "NVIDIA H100 80GB HBM3 (cuda:0)" in text and "B, fast path:" not in text  # nothing fell back
    sweep_row = next(line for line in text.splitlines() if "7200" in line)
    assert "480.0" in sweep_row and "8.0x" in sweep_row and "330.0" in sweep_row and "0.0%" in sweep_row
    assert "peak: datasheet" in text and "6.20 M per training step" in text


def test_the_headline_gives_a_time_to_the_bar_only_where_the_records_meet_it():
    text = bench.table(make_bench())
    lines = text.splitlines()
    assert lines[0].startswith("time to the bar")
    original = next(line for line in lines if line.startswith("original"))
    fast = next(line for line in lines if line.startswith("fast "))
    assert "misses (99.18%)" in original and "0.7 min" in original  # 20 x 2.0 s, one run, but no time to the bar
    assert fast.count("0.1 min") == 2  # 15 x 0.5 s: one run, and the time to the bar
    assert "ceiling on 16 core(s): 33,000.0 GFLOP/s" in text


def test_a_version_3_record_without_the_headline_still_reads():
    record = make_bench()
    record.update(schema_version=3)
    for key in ("ceiling", "time_to_bar"):
        record.pop(key)
    validate_bench(record)
    assert bench.table(record).startswith("configuration")


def test_a_version_2_record_without_flop_counts_still_reads():
    record = make_bench()
    record.update(schema_version=2)
    for key in ("flops", "ceiling", "time_to_bar"):
        record.pop(key)
    for row in [*record["configs"], *record["sweeps"]]:
        for key in RATE:
            row.pop(key)
    validate_bench(record)
    assert "GFLOP/s" in bench.table(record) and "peak:" not in bench.table(record)


def test_the_peak_is_worked_out_from_the_cpu_and_said_how():
    from s6lib.lab import hardware

    peak = hardware.cpu_peak(2, "float32")
    if peak is None:
        pytest.skip("this machine does not report its clock")
    assert peak["gflops"] > 0 and "2 cores" in peak["basis"] and "FMA" in peak["basis"]
    assert hardware.gpu_peak("NVIDIA H200", "bf16-autocast")["gflops"] == 989_400.0
    assert hardware.gpu_peak("Some GPU", "float32") is None


def test_the_clock_is_measured_where_a_compiler_is_at_hand_and_the_ceiling_is_a_real_rate():
    from s6lib.lab import hardware

    ghz = hardware.measure_clock_ghz()
    if ghz is None:
        pytest.skip("no C compiler or not x86-64: the peak uses the nominal clock")
    assert 0.8 < ghz < 7.0  # a real core's clock, not a count of loops
    assert hardware.clock()["source"].startswith("measured")
    assert 0.1 < hardware.matmul_ceiling(1, n=256, repeats=2) < 5_000


def test_a_zen_4_core_runs_avx_512_at_the_rate_of_its_256_bit_fma_pipes(monkeypatch):
    from s6lib.lab import hardware

    fields = {"vendor_id": "AuthenticAMD", "cpu family": "25"}
    monkeypatch.setattr(hardware, "_cpu_field", fields.get)
    monkeypatch.setattr(hardware, "_cpu_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    clock = {"ghz": 3.0, "source": "measured"}
    assert hardware.cpu_peak(1, "float32", clock)["gflops"] == pytest.approx(3.0 * 8 * 2 * 2)
    assert hardware.cpu_peak(1, "bf16-autocast", clock)["gflops"] == pytest.approx(3.0 * 8 * 2 * 2 * 2)
    fields["vendor_id"] = "GenuineIntel"  # an Intel core with AVX-512: 16 lanes
    assert hardware.cpu_peak(2, "float32", clock)["gflops"] == pytest.approx(2 * 3.0 * 16 * 2 * 2)


def test_the_bar_verdict_is_the_records_every_planned_seed_in_its_last_three_epochs(tmp_path):
    import json

    from s6lib.analysis.results import min_last
    from s6lib.lab import experiments as ex
    from s6lib.lab.run_times import bar_verdict

    from conftest import ROOT

    runs = ROOT / "book" / "runs"
    fast = bar_verdict("fast", runs)
    records = [json.loads((runs / "cpu" / f"fast-s{s}.json").read_text()) for s in ex.get_experiment("fast").seeds]
    lowest = min(min_last(r) for r in records)
    assert fast == {"experiment": "fast", "planned": 5, "complete": 5, "lowest": lowest, "meets": lowest >= 99.4}
    assert bar_verdict("original", runs)["experiment"] == "seed"
    assert bar_verdict("fast", tmp_path) == {"experiment": "fast", "planned": 5, "complete": 0, "lowest": None,
                                             "meets": None}  # no records: no verdict
    assert bar_verdict("no-such-recipe", runs)["meets"] is None


def test_a_training_step_of_net6_costs_about_six_mflop_per_image():
    from s6lib.lab import hardware
    from s6lib.mnist.models import build_model

    model = build_model("net6")
    train, evaluate = hardware.step_flops(model, 8, train=True), hardware.step_flops(model, 8, train=False)
    assert 5e6 < train < 8e6 and 2.5 < train / evaluate < 3.5  # backward costs about twice the forward
    assert all(p.grad is None for p in model.parameters())


def test_a_bench_record_round_trips(tmp_path):
    record = make_bench(epochs=3)
    path = write_bench_record(record, tmp_path / bench.file_name(record["environment"]["device_name"]))
    assert path.name == "nvidia-h100-80gb-hbm3.json"
    assert load_bench_record(path) == record


@pytest.mark.parametrize("change, field, problem", [
    (lambda r: r.pop("startup_seconds"), "startup_seconds", "is missing"),
    (lambda r: r.update(kind="run"), "schema_version", "this s6lib reads 'bench' versions 2, 3, 4"),
    (lambda r: r.pop("time_to_bar"), "time_to_bar", "is missing"),
    (lambda r: r["time_to_bar"][0].update(seconds_to_bar=40.0), "time_to_bar[0].seconds_to_bar",
     "exactly where the recipe's records meet the bar"),
    (lambda r: r["time_to_bar"][1]["records"].pop("lowest"), "time_to_bar[1].records.lowest", "is missing"),
    (lambda r: r["configs"][0].update(fraction_of_peak=1.7), "configs[0].fraction_of_peak", "the peak is wrong"),
    (lambda r: r["sweeps"][0].update(peak=None), "sweeps[0].fraction_of_peak", "else null"),
    (lambda r: r["configs"][1].update(gflops=float("nan")), "configs[1].gflops", "finite number > 0"),
    (lambda r: r.pop("flops"), "flops", "is missing"),
    (lambda r: r["configs"][1].pop("speedup"), "configs[1].speedup", "is missing"),
    (lambda r: r["configs"][3]["engine"].update(step=None), "configs[3].engine.step", "expected str"),
    (lambda r: r["configs"][0].update(epoch_seconds=[]), "configs[0]", "at least one epoch"),
    (lambda r: r["configs"][2]["speedup"].update(x=float("inf")), "configs[2]", "finite numbers"),
    (lambda r: r["sweeps"][0].pop("runs_per_hour"), "sweeps[0].runs_per_hour", "is missing"),
    (lambda r: r["sweeps"][0].update(seconds=0.0), "sweeps[0]", "finite numbers > 0"),
])
def test_a_broken_bench_record_names_the_field(change, field, problem):
    record = copy.deepcopy(make_bench())
    change(record)
    with pytest.raises(RecordError, match=rf"<bench record>: field '{re.escape(field)}'.*{re.escape(problem)}"):
        validate_bench(record)


def test_a_run_record_is_not_a_bench_record():
    with pytest.raises(RecordError, match="this s6lib reads 'bench' version"):
        validate_bench({"schema_version": records.SCHEMA_VERSION, "status": "complete"})


def test_the_precision_check_says_whether_auto_picked_the_faster_format():
    record = make_bench()
    assert bench.precision_check(record) is None  # no bf16 row of its own
    bf16_row = copy.deepcopy(record["configs"][2])
    bf16_row.update(name="B, bf16", seconds_per_epoch=0.2,
                    engine=engine_record("eager", "bf16-autocast"))
    record["configs"].insert(3, bf16_row)
    check = bench.precision_check(record)
    assert check["bf16_speedup"] == pytest.approx(2.0) and check["agrees"]  # the fast path runs bf16
    assert "bf16 ran 2.00x as fast as float32" in bench.table(record)
    bf16_row["seconds_per_epoch"] = 0.8  # bf16 slower, yet auto picked it
    assert not bench.precision_check(record)["agrees"]
    assert "auto did not pick the faster format" in bench.table(record)
