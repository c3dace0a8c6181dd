"""s6lib.analysis.results on synthetic records: summaries, the headline check, confusion matrix, staleness."""

import dataclasses
import json
import math

import numpy as np
import pytest

from s6lib.analysis import ablations, comparisons, mistakes, original, results, selection
from s6lib.lab import experiments as ex
from s6lib.lab import records
from s6lib.lab.runs import load_runs
from s6lib.mnist import goals, models, recipes, specs, train
from s6lib.mnist.engine import engine_record

from conftest import LABELS, curve, fake_record, planned, write

# --- loading ---------------------------------------------------------------------------------------


def test_runs_without_records_are_not_run_yet():
    runs = load_runs("training", None)
    assert len(runs) == len(ex.planned_runs("training"))
    assert all(r.record is None and r.status == "not run yet" for r in runs)
    assert all((s.n, s.planned, s.mean) == (0, 5, None) for s in results.summarize(runs))


def test_gpu_records_are_preferred_and_foreign_configs_ignored(tmp_path):
    write(tmp_path, planned("fast", 1), "cpu")
    write(tmp_path, planned("fast", 1), "gpu")
    write(tmp_path, planned("fast", 2), "cpu")
    other = planned("fast", 3)
    wrong = fake_record(ex.PlannedRun(other.experiment, other.recipe, 4, other.path))  # seed 4's config at s3's path
    records.write_record(wrong, tmp_path / "gpu" / other.path)
    write(tmp_path, planned("seed", 2), "cpu", accs=curve(99.3, 20))
    write(tmp_path, planned("seed", 2), "gpu", accs=[99.0] * 4, status="running")
    runs = {(r.key, r.seed): r for r in load_runs("training", tmp_path)}
    assert runs["seed", 2].device_class == "cpu" and runs["seed", 2].complete  # complete beats running
    assert runs["fast", 1].device_class == "gpu"
    assert runs["fast", 2].device_class == "cpu"
    assert runs["fast", 3].record is None
    assert runs["seed", 1].status == "not run yet"


# --- numbers ------------------------------------------------------------------------------------------


def test_per_record_numbers():
    accs = [98.0 + 0.1 * i for i in range(12)] + [99.41, 99.50, 99.42]  # 98.0 ... 99.1, then the last three
    r = fake_record(planned("fast", 1), accs)
    assert results.final_acc(r) == 99.42
    assert results.min_last(r) == 99.41
    assert results.best_epoch(r) == 14
    assert results.first_reach(r) == 13
    assert results.first_reach([99.0, 99.3]) is None
    # the original reached 99.4 once, at the end
    assert results.first_reach(list(original.ORIGINAL_LOG["test_acc"])) == 20


def test_epochs_frame_has_one_row_per_epoch_of_each_complete_run(tmp_path):
    for seed in (1, 2):
        write(tmp_path, planned("fast", seed))
    frame = results.epochs_frame(load_runs([ex.get_experiment("fast")], tmp_path))
    assert len(frame) == 2 * ex.get_experiment("fast").build().epochs
    assert {"recipe", "model", "seed", "test_acc", "epoch"} <= set(frame.columns)
    assert set(frame["recipe"]) == {"fast"} and set(frame["seed"]) == {1, 2}


def test_summary_statistics(tmp_path):
    finals = [99.40, 99.50, 99.45]
    for seed, final in zip((1, 2, 3), finals):
        write(tmp_path, planned("pool-none", seed), accs=curve(final, 15))
    s = next(s for s in results.summarize(load_runs("ablations", tmp_path)) if s.key == "pool-none")
    assert s.n == 3 and s.planned == 3
    assert s.mean == pytest.approx(99.45) and s.std == pytest.approx(0.05)
    assert s.parameters == models.count_parameters(models.build_model("net6-d05-pool-none"))
    assert s.rf < next(t for t in results.summarize(load_runs("ablations", None)) if t.key == "fast").rf
    assert s.reached == 3 and s.devices == ("GPU: NVIDIA H100 80GB HBM3",)


def test_the_tuning_rule_prefers_the_steadiest_last_epochs_then_the_mean(tmp_path):
    runs_by = {  # candidate -> (final, last three epochs) per seed 101-103
        "tune-base": [(99.55, [99.50, 99.52, 99.55])] * 3,  # worst 99.50, mean 99.55
        "tune-rotation-10": [(99.60, [99.38, 99.58, 99.60])] * 3,  # higher mean, but a dip below 99.4
        "tune-translate": [(99.51, [99.50, 99.50, 99.51])] * 3,  # the same worst as base, lower mean
        "tune-label-smoothing": [(99.70, [99.70, 99.70, 99.70])] * 2,  # best, but a seed is missing
    }
    for key, seeds in runs_by.items():
        for seed, (final, last) in zip(ex.TUNING_SEEDS, seeds):
            write(tmp_path, planned(key, seed), "cpu", accs=curve(final, 15, last))
    tuning = results.summarize(load_runs("tuning", tmp_path))
    choice = selection.choose(tuning)
    assert choice.winner == "tune-base"
    assert choice.ranking == ("tune-base", "tune-translate", "tune-rotation-10")
    assert choice.incomplete == ("tune-label-smoothing", "tune-all-three")
    with pytest.raises(ValueError, match="no candidate has all its seeds complete"):
        selection.choose(results.summarize(load_runs("tuning", None)))


def test_the_ablation_tables_and_write_ups_report_missing_seeds_and_the_spread(tmp_path):
    for seed in (1, 2, 3, 4, 5):
        write(tmp_path, planned("fast", seed), accs=curve(99.45 + 0.01 * seed, 15))
    for seed in (1, 2, 3):
        write(tmp_path, planned("aug-none", seed), accs=curve(99.10 + 0.01 * seed, 15))
    for seed in (1, 2):
        write(tmp_path, planned("lr-0.1", seed), accs=curve(99.4 + 0.01 * seed, 15))
    records.write_record(fake_record(planned("lr-0.1", 3), accs=[98.0, 97.0], status="diverged"),
                         tmp_path / "gpu" / "lr-0.1-s3.json")
    summaries = results.summarize(load_runs("ablations", tmp_path))
    rows = {r.key: r for r in ablations.compare_all(summaries)}
    assert "no-bn" not in rows  # not run yet: no row
    assert rows["aug-none"].difference.verdict == "lower"  # 3 v 5, every seed below: p = 2/56
    assert rows["lr-0.1"].difference.verdict == "too few seeds"  # 2 v 5: p >= 2/21 > 0.05
    data = ablations.section_table(list(rows.values()), "data").set_index("verdict")
    assert data.loc["lower", "difference"] == "−0.36" and data.loc["lower", "95% interval"] == "−0.39 to −0.33"
    by_key = {s.key: s for s in summaries}
    assert (by_key["no-bn"].n, by_key["no-bn"].mean) == (0, None)
    assert comparisons.difference(by_key["no-bn"].finals, by_key["fast"].finals).verdict == "too few seeds"


# --- the headline claims ---------------------------------------------------------------------------------


def claim_for(tmp_path, finals, last=None, seeds=(1, 2, 3, 4, 5)):
    for seed, final in zip(seeds, finals):
        write(tmp_path, planned("fast", seed), accs=curve(final, 15, last=last if seed == seeds[0] else None))
    return results.headline(load_runs("training", tmp_path))


def test_headline_met(tmp_path):
    claim = claim_for(tmp_path, [99.45, 99.48, 99.50, 99.46, 99.47])
    assert claim.verdict == "met", claim.table()
    assert all(c.passed for c in claim.criteria)


def test_headline_not_met_when_the_mean_is_low(tmp_path):
    claim = claim_for(tmp_path, [99.41, 99.42, 99.43, 99.44, 99.42])
    assert claim.verdict == "not met"
    assert [c.name for c in claim.criteria if c.passed is False] == ["mean final test accuracy"]


def test_headline_not_met_when_one_seed_dips_in_its_last_epochs(tmp_path):
    claim = claim_for(tmp_path, [99.5] * 5, last=[99.39, 99.5, 99.5])
    assert claim.verdict == "not met"


def test_headline_not_yet_measured_with_few_seeds(tmp_path):
    claim = claim_for(tmp_path, [99.5, 99.5], seeds=(1, 2))
    assert claim.verdict == "not yet measured"
    assert results.headline(load_runs("training", None)).verdict == "not yet measured"


def test_headline_fails_early_when_a_seed_already_fails(tmp_path):
    claim = claim_for(tmp_path, [99.5, 99.5], last=[99.2, 99.3, 99.3], seeds=(1, 2))
    assert claim.verdict == "not met"


def test_small_claim_holds_every_seed_to_its_last_three_epochs(tmp_path):
    for seed in ex.get_experiment("small-net6").seeds:
        write(tmp_path, planned("small-net6", seed), accs=curve(99.41, 15))
    claim = results.small_claim(load_runs("small", tmp_path), "small-net6")
    assert claim.verdict == "met" and claim.parameters < goals.SMALL_PARAMETERS
    # one seed that reaches 99.4% at its best epoch but dips in its last three fails the bar
    write(tmp_path, planned("small-net6", 5), accs=curve(99.45, 15, last=[99.45, 99.39, 99.45]))
    claim = results.small_claim(load_runs("small", tmp_path), "small-net6")
    assert claim.verdict == "not met" and "lowest 99.39%" in claim.table().to_string()


# --- confusion matrix and hardest digits ---------------------------------------------------------------------


def test_confusion_matrix_from_misclassified():
    r = fake_record(planned("fast", 1), curve(99.0, 15))
    cm = mistakes.confusion_matrix(r, LABELS)
    assert cm.sum() == len(LABELS)
    assert (cm.sum(1) == np.bincount(LABELS)).all()
    assert np.trace(cm) == len(LABELS) - len(r["misclassified"])
    index, predicted = r["misclassified"][0]
    assert cm[LABELS[index], predicted] >= 1
    two = mistakes.confusion_matrix([r, r], LABELS)
    assert (two == 2 * cm).all()


def test_top_confusions():
    cm = np.diag([10] * 10)
    cm[4, 9], cm[7, 1], cm[3, 5] = 6, 2, 6
    assert mistakes.top_confusions(cm, 2) == [(3, 5, 6), (4, 9, 6)]


def test_hardest_digits_are_those_most_seeds_miss():
    a = fake_record(planned("fast", 1), curve(99.9, 15))
    b = fake_record(planned("fast", 2), curve(99.9, 15))
    b["misclassified"] = [list(a["misclassified"][0]), [5, 7]]
    hard = mistakes.hardest_digits([a, b], LABELS, n=3)
    assert hard.iloc[0]["index"] == a["misclassified"][0][0] and hard.iloc[0]["seeds wrong"] == 2
    assert list(hard.columns) == ["index", "true", "predicted", "seeds wrong"]


# --- staleness ------------------------------------------------------------------------------------------------


def test_fresh_records_are_not_stale(tmp_path):
    write(tmp_path, planned("seed", 1), "cpu", accs=curve(99.3, 20))
    write(tmp_path, planned("fast", 1), "gpu")
    assert ex.stale_records(tmp_path) == []


def test_changing_a_planned_recipe_makes_its_records_stale(tmp_path, monkeypatch):
    write(tmp_path, planned("fast", 1), "gpu")
    write(tmp_path, planned("lr-0.1", 1), "gpu")
    fast = recipes.RECIPES["fast"]
    monkeypatch.setitem(recipes.RECIPES, "fast", fast.__class__(**{**fast.__dict__, "lr": 0.07}))
    problems = {p.path: p for p in ex.stale_records(tmp_path)}
    assert problems["gpu/fast-s1.json"].kind == "stale"
    assert "config.recipe.lr: recorded 0.05, planned 0.07" in str(problems["gpu/fast-s1.json"])
    assert "gpu/lr-0.1-s1.json" not in problems  # its lr is its own override; nothing else changed


def test_changing_an_experiment_override_makes_its_records_stale(tmp_path, monkeypatch):
    write(tmp_path, planned("no-rotation", 2), "gpu")
    changed = tuple(dataclasses.replace(e, overrides={"augment": {"rotation": 10.0}}) if e.key == "no-rotation" else e
                    for e in ex.ABLATIONS)
    monkeypatch.setattr(ex, "PLANS", {**ex.PLANS, "ablations": changed})
    (problem,) = ex.stale_records(tmp_path)
    assert problem.path == "gpu/no-rotation-s2.json" and problem.kind == "stale"
    assert "augment.rotation" in problem.detail


def test_changing_a_model_variant_makes_its_records_stale(tmp_path, monkeypatch):
    write(tmp_path, planned("transition", 1), "gpu")
    spec = specs.VARIANTS["net6-d05-transition"]
    monkeypatch.setitem(specs.VARIANTS, "net6-d05-transition", dataclasses.replace(spec, transitions=((3, 12),)))
    (problem,) = ex.stale_records(tmp_path)
    assert problem.kind == "stale" and "net6-d05-transition" in problem.detail


def test_unplanned_misplaced_and_invalid_records_are_reported(tmp_path):
    write(tmp_path, planned("fast", 1), "gpu")
    rec = fake_record(planned("fast", 2), device="cpu")
    records.write_record(rec, tmp_path / "gpu" / "fast-s2.json")  # a CPU run in the GPU folder
    records.write_record(rec, tmp_path / "cpu" / "fast-net6-s2.json")  # a name no plan has
    records.write_record(rec, tmp_path / "fast-s2.json")  # outside the device-class folders
    (tmp_path / "cpu" / "broken-s1.json").write_text("{}")
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "bench-1.json").write_text("{}")  # another kind of record: not this check's
    kinds = {p.path: p.kind for p in ex.stale_records(tmp_path)}
    assert kinds == {"gpu/fast-s2.json": "misplaced", "cpu/fast-net6-s2.json": "unplanned",
                     "fast-s2.json": "misplaced", "cpu/broken-s1.json": "invalid"}


# --- provenance and live mode ----------------------------------------------------------------------------------


def test_live_training_switch():
    assert train.live_training({"S6_LIVE_TRAIN": "1"})[0] is True
    assert train.live_training({"S6_LIVE_TRAIN": "0"})[0] is False
    import torch
    assert train.live_training({})[0] is torch.cuda.is_available()


def test_the_original_log_is_the_published_run():
    log = original.ORIGINAL_LOG
    assert len(log["test_acc"]) == 20 and log["test_acc"][-1] == log["final"]["test_acc"] == 99.40
    assert log["parameters"] == models.count_parameters(models.build_model(log["model"]))
    json.dumps(log)  # plain data


def test_the_original_trials_are_the_sheets_rows():
    assert all(t["ours"] in ex.experiments() for t in original.ORIGINAL_TRIALS)
    sheet = results_sheet()
    rows = [r for r in sheet if isinstance(r[3], (int, float))]  # the rows with numbers
    assert len(rows) == len(original.ORIGINAL_TRIALS)
    for row, trial in zip(rows, original.ORIGINAL_TRIALS):
        assert trial["change"] == " ".join(row[1].replace("\n", "; ").split()), trial["trial"]
        assert (trial["parameters"], trial["train_acc"], trial["test_acc"]) == (
            row[3], round(100 * row[4], 2), round(100 * row[6], 2))


def results_sheet():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "shared" / "seed" / "Param_Accuracy_Optimization_Experiments.xlsx"
    if not path.exists():
        pytest.skip(f"the original's trial log is not here ({path})")
    openpyxl = pytest.importorskip("openpyxl")
    return list(openpyxl.load_workbook(path).active.iter_rows(min_row=2, values_only=True))


def test_diverged_runs_are_counted_not_averaged(tmp_path):
    for seed in (1, 2):
        write(tmp_path, planned("lr-0.1", seed), accs=curve(99.4, 15))
    bad = fake_record(planned("lr-0.1", 3), accs=[98.0, 97.0], status="diverged")
    records.write_record(bad, tmp_path / "gpu" / "lr-0.1-s3.json")
    s = next(s for s in results.summarize(load_runs("ablations", tmp_path)) if s.key == "lr-0.1")
    assert (s.n, s.diverged, s.planned) == (2, 1, 3)


# --- tables and sentences for readers ---------------------------------------------------------------------


def test_the_seed_table_has_one_row_per_planned_seed(tmp_path):
    write(tmp_path, planned("fast", 2), "cpu", accs=curve(99.5, 15, last=[99.41, 99.56, 99.5]))
    table = results.seed_table(load_runs("training", tmp_path), "fast")
    assert table["seed"].tolist() == [1, 2, 3, 4, 5]
    row = table.set_index("seed").loc[2]
    assert row["final test acc (%)"] == 99.5 and row["worst of last 3 (%)"] == 99.41 and row["device"] == "CPU"
    assert row["best (%)"] == 99.56 and row["at epoch"] == 14 and row["precision"] == "float32"
    assert table.set_index("seed").loc[1, "device"] == "not run yet"


def test_the_original_log_fits_the_page_in_two_rows():
    table = results.original_log_table()
    assert table["epochs"].tolist() == ["1–10", "11–20"] and table.shape == (2, 11)
    assert table.iloc[1, -1] == original.ORIGINAL_LOG["test_acc"][-1]


def test_recipe_tables_show_no_none():
    both = results.recipe_table("original", "fast").set_index("setting")
    assert both.loc["schedule"].tolist() == ["step", "onecycle"] and both.loc["pct_start", "original"] == "–"
    assert results.recipe_table("seed", "fast").equals(both.reset_index())  # the stored name, shown as readers say it
    diff = results.recipe_diff_table("fast", "original").set_index("setting")
    assert diff.columns.tolist() == ["original", "fast"]
    assert "None" not in diff.to_string() and diff.loc["lr"].tolist() == ["0.01", "0.05"]


def test_design_table_numbers_blocks_from_one_as_the_layers_are_named():
    table = results.design_table(["fast", "pool-early", "transition"]).set_index("experiment")
    assert table.loc["fast", "max-pool after"] == "2, 4"  # pool2, pool4
    assert table.loc["pool-early", "max-pool after"] == "1, 4"
    assert table.loc["transition", "1×1 after"] == "4 (to 16)"
    assert table.loc["fast", "dropout"] == "0.05 after 3, 5"


def test_the_original_recipe_is_stored_as_seed_but_read_as_original(tmp_path):
    for seed, final in zip((1, 2, 3, 4, 5), (99.2, 99.3, 99.25, 99.35, 99.3)):
        write(tmp_path, planned("seed", seed), accs=curve(final, 20))
    runs = load_runs("training", tmp_path)
    assert results.seed_table(runs, "original").equals(results.seed_table(runs, "seed"))
    assert set(results.epochs_frame(runs)["recipe"]) == {"original"}
    assert [s.name for s in results.summarize(runs)] == ["original", "fast"]


def test_the_precision_check_pairs_bf16_and_float32_runs_of_the_same_seed(tmp_path):
    check = results.precision_check(tmp_path)
    assert check.seeds == ()
    for seed, (a, b) in zip(ex.TUNING_SEEDS, ((99.50, 99.52), (99.55, 99.49), (99.53, 99.56))):
        bf16 = fake_record(planned("tune-base", seed), accs=curve(a, 15))
        bf16["engine"] = engine_record("eager", "bf16-autocast")
        records.write_record(bf16, tmp_path / "cpu" / f"tune-base-s{seed}.json")
        records.write_record(fake_record(planned("tune-base", seed), accs=curve(b, 15)),
                             tmp_path / results.PRECISION_CHECK / f"tune-base-s{seed}.json")
    check = results.precision_check(tmp_path)
    assert check.seeds == ex.TUNING_SEEDS and check.bf16 == (99.50, 99.55, 99.53)
    assert check.comparison.verdict == "too few seeds"  # 3 against 3: no split gives p below 0.1
    assert check.comparison.diff == pytest.approx((99.50 + 99.55 + 99.53 - 99.52 - 99.49 - 99.56) / 3)
    assert check.table().shape == (3, 5)


def test_the_tuning_table_has_each_seed_the_mean_and_the_worst(tmp_path):
    for seed in ex.TUNING_SEEDS:
        write(tmp_path, planned("tune-base", seed), "cpu", accs=curve(99.5, 15))
    table = selection.tuning_table(results.summarize(load_runs("tuning", tmp_path))).set_index("candidate")
    assert table.loc["tune-base", ["seed 101", "seed 102", "seed 103"]].tolist() == [99.5] * 3
    assert math.isnan(table.loc["tune-translate", "mean (%)"])
