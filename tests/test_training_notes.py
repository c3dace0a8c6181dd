"""The numbers the Methods appendix gives about particular runs are their records'."""

import json
from dataclasses import dataclass

from s6lib.analysis import training_notes as run_notes


@dataclass
class FakeRun:  # what run_notes reads of a runs.Run
    key: str
    seed: int
    record: dict
    complete: bool = True


def record(seed, minutes, start_hour, epoch_seconds, threads=1, acc=99.3, precision="float32"):
    return {
        "seconds": minutes * 60,
        "started_utc": f"2026-11-27T{start_hour:02d}:00:00+00:00",
        "finished_utc": f"2026-11-27T{start_hour + int(minutes // 60) + 1:02d}:00:00+00:00",
        "epochs": [{"seconds": s, "test_acc": acc} for s in epoch_seconds],
        "environment": {"threads": threads, "device_name": "a 2-core CPU"},
        "config": {"num_workers": 2, "seed": seed, "recipe": {"pipeline": "A", "name": "seed"}},
        "engine": {"precision": precision},
    }


def test_a_run_far_slower_than_its_twins_is_described_by_its_record():
    runs = [FakeRun("seed", 1, record(1, 45, 1, [40, 250, 60], threads=2, acc=99.28)),
            FakeRun("seed", 2, record(2, 21, 3, [60, 70], acc=99.25)),
            FakeRun("seed", 3, record(3, 21, 3, [55, 80], acc=99.37)),
            FakeRun("fast", 1, record(1, 5, 9, [20]))]
    slow = run_notes.slow_run(runs, "seed")
    assert (slow.seed, slow.minutes, slow.twin_minutes) == (1, 45, (21, 21))
    assert (slow.threads, slow.twin_threads, slow.loader_processes) == (2, (1,), 2)
    assert (slow.beside, slow.twins_at_once) == (0, 2)
    assert slow.epoch_seconds == (40, 250) and slow.twin_epoch_seconds == (55, 80)
    assert slow.final == 99.28 and slow.twin_finals == (99.25, 99.37)


def test_no_run_stands_out_among_equals_or_without_twins():
    runs = [FakeRun("fast", s, record(s, 5 + s / 10, 1 + s, [20, 21])) for s in (1, 2, 3)]
    assert run_notes.slow_run(runs, "fast") is None
    assert run_notes.slow_run(runs[:2], "fast") is None  # two runs: no twins to compare with


def test_the_draw_pages_model_against_the_tables_run(tmp_path, monkeypatch):
    model = record(1, 5, 1, [20], acc=99.53)
    twin = record(1, 5, 1, [20], acc=99.52, precision="bf16-autocast")
    model["config"]["recipe"]["name"] = "fast"
    monkeypatch.setattr(run_notes, "load_record", lambda path: json.loads(path.read_text()))
    path = tmp_path / "fast-s1.json"
    path.write_text(json.dumps(model))
    pair = run_notes.checkpoint_twin([FakeRun("fast", 1, twin)], path)
    assert (pair.precision, pair.final, pair.twin_precision, pair.twin_final) == ("float32", 99.53, "bf16", 99.52)
    assert pair.images_apart == 1
    assert run_notes.checkpoint_twin([FakeRun("fast", 2, twin)], path) is None  # no run of that seed
    assert run_notes.checkpoint_twin([FakeRun("fast", 1, twin)], tmp_path / "absent.json") is None


def test_each_setting_of_the_fast_recipe_is_listed_with_the_ablations_that_change_it():
    from s6lib.analysis.ablations import SHOWN
    from s6lib.lab import experiments as ex
    from s6lib.mnist.recipes import get_recipe

    stored = {shown: key for key, (shown, _) in SHOWN.items()}  # the table says an ablation's shown name
    table = run_notes.recipe_origins().set_index("setting")
    fast, original = get_recipe("fast"), get_recipe("original")
    assert table.loc["batch_size", "original"] == str(original.batch_size)
    assert table.loc["batch_size", "fast"] == str(fast.batch_size)
    assert table.loc["dropout", "fast"] == "0.05" and "dropout-0.25" in table.loc["dropout", "measured by"]
    assert set(table.index) >= {"lr", "weight_decay", "nesterov", "schedule", "epochs", "pipeline"}
    for setting, row in table.iterrows():
        for key in filter(None, row["measured by"].replace("–", "").split(", ")):
            built = ex.get_experiment(stored.get(key, key)).build()
            changed = set(ex.recipe_changes(built, fast)) | set(ex.spec_changes(built.model, fast.model))
            assert setting in changed, f"{key} does not change {setting}"
