"""The training chapter's sentences about particular runs say what their records say."""

import json
from dataclasses import dataclass

from s6lib import training_notes as run_notes


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


def test_a_run_far_slower_than_its_twins_is_explained_from_its_record():
    runs = [FakeRun("seed", 1, record(1, 45, 1, [40, 250, 60], threads=2, acc=99.28)),
            FakeRun("seed", 2, record(2, 21, 3, [60, 70], acc=99.25)),
            FakeRun("seed", 3, record(3, 21, 3, [55, 80], acc=99.37)),
            FakeRun("fast", 1, record(1, 5, 9, [20]))]
    note = run_notes.slow_run_note(runs, "seed")
    assert note.startswith("Seed 1 took 45 minutes against 21 for the others. It ran alone, with 2 torch threads")
    assert "the others ran 2 at a time, with 1 thread each" in note
    assert "from 40 to 250 s" in note and "55 to 80 s" in note and "6 times as long" in note
    assert "99.28%, lies among the others' (99.25–99.37%)" in note


def test_no_sentence_when_no_run_stands_out():
    runs = [FakeRun("fast", s, record(s, 5 + s / 10, 1 + s, [20, 21])) for s in (1, 2, 3)]
    assert run_notes.slow_run_note(runs, "fast") is None
    assert run_notes.slow_run_note(runs[:2], "fast") is None  # two runs: no twins to compare with


def test_the_draw_pages_model_against_the_tables_run(tmp_path, monkeypatch):
    model = record(1, 5, 1, [20], acc=99.53)
    twin = record(1, 5, 1, [20], acc=99.52, precision="bf16-autocast")
    model["config"]["recipe"]["name"] = "fast"
    monkeypatch.setattr(run_notes, "load_record", lambda path: json.loads(path.read_text()))
    path = tmp_path / "fast-s1.json"
    path.write_text(json.dumps(model))
    note = run_notes.checkpoint_note([FakeRun("fast", 1, twin)], path)
    assert "trained in float32 (final test accuracy 99.53%)" in note
    assert "the table's seed 1 trained in bf16 (99.52%)" in note and "0.01 points apart, 1 test image." in note
    assert run_notes.checkpoint_note([FakeRun("fast", 2, twin)], path) is None  # no run of that seed
    assert run_notes.checkpoint_note([FakeRun("fast", 1, twin)], tmp_path / "absent.json") is None


def test_the_precision_note_names_each_recipes_precision_from_its_records():
    runs = [FakeRun("seed", 1, record(1, 20, 1, [60])), FakeRun("seed", 2, record(2, 20, 1, [60])),
            FakeRun("fast", 1, record(1, 5, 1, [20], precision="bf16-autocast")),
            FakeRun("fast", 2, record(2, 5, 1, [20]), complete=False)]
    assert run_notes.precision_note(runs) == ("The 2 runs of the `original` recipe trained in float32 and the "
                                              "one run of the `fast` recipe in bf16.")


def test_each_setting_of_the_fast_recipe_is_listed_with_the_ablations_that_change_it():
    from s6lib import experiments as ex
    from s6lib.recipes import get_recipe

    table = run_notes.recipe_origins().set_index("setting")
    fast, original = get_recipe("fast"), get_recipe("original")
    assert table.loc["batch_size", "original"] == str(original.batch_size)
    assert table.loc["batch_size", "fast"] == str(fast.batch_size)
    assert table.loc["dropout", "fast"] == "0.05" and "dropout-0.25" in table.loc["dropout", "measured by"]
    assert set(table.index) >= {"lr", "weight_decay", "nesterov", "schedule", "epochs", "pipeline"}
    for setting, row in table.iterrows():
        for key in filter(None, row["measured by"].replace("–", "").split(", ")):
            built = ex.get_experiment(key).build()
            changed = set(ex.recipe_changes(built, fast)) | set(ex.spec_changes(built.model, fast.model))
            assert setting in changed, f"{key} does not change {setting}"
