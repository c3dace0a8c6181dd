"""The run plans (s6lib/lab/experiments.py) and `sweep --plan`."""

import dataclasses

import pytest
import torch

from s6lib.__main__ import main
from s6lib.analysis import original
from s6lib.lab import experiments as ex
from s6lib.lab.records import load_record
from s6lib.mnist import engine
from s6lib.mnist.data import ENV_VAR, DataError, DeviceLoader, prepare_mnist
from s6lib.mnist.goals import PARAMETERS, SMALL_PARAMETERS
from s6lib.mnist.models import build_model, count_parameters
from s6lib.mnist.recipes import RECIPES, ConfigError
from s6lib.mnist.specs import get_spec

pytestmark = pytest.mark.usefixtures("one_thread")  # small steps share two cores badly


def test_every_experiment_builds_a_valid_recipe_named_after_it():
    for key, exp in ex.experiments().items():
        recipe = exp.build()  # validates
        assert recipe.name == key
        assert exp.group in ex.GROUPS, key
        assert set(exp.answers) <= set(original.SYLLABUS), key
        assert exp.change and exp.question and exp.why, key


def test_the_training_plan_runs_the_named_recipes_unchanged():
    """So `s6 train --recipe original --seed N` writes the plan's record, config for config."""
    for run in ex.planned_runs("training"):
        assert run.recipe == RECIPES[run.key]
    assert {r.key for r in ex.planned_runs("training")} == {"seed", "fast"}
    assert all(len(exp.seeds) >= 5 for exp in ex.get_plan("training"))


def test_the_ablations_cover_the_original_trials_and_next_steps():
    answered = {item for exp in ex.get_plan("ablations") for item in exp.answers}
    assert answered == set(original.SYLLABUS), f"not answered: {sorted(set(original.SYLLABUS) - answered)}"


def test_each_ablation_changes_something_and_no_two_are_the_same():
    base = ex.get_experiment(ex.BASELINE)
    assert base in ex.get_plan("ablations")
    seen = {}
    for exp in ex.get_plan("ablations"):
        assert len(exp.seeds) >= 3, exp.key
        config = dataclasses.replace(exp.build(), name="-")
        assert config not in seen, f"{exp.key} trains the same recipe as {seen.get(config)}"
        seen[config] = exp.key
        if exp.key != base.key:
            assert ex.recipe_changes(exp.build(), base.build()), exp.key


def what_training_sees(recipe) -> dict:
    """What a run of `recipe` hands to the model, the loss and the optimizer, as it runs them:
    the network built, the (lr, momentum) of every step, the optimizer's other settings, the
    loss's targets, and the first augmented batch of a fixed set of images."""
    model = build_model(recipe.model)
    images = torch.randint(0, 256, (32, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    loader = DeviceLoader(images, torch.arange(32) % 10, 32, device=torch.device("cpu"), augment=recipe.augment,
                          normalize=recipe.normalize, seed=0)
    optimizer = engine.make_optimizer(recipe, model)
    return {
        "model": get_spec(recipe.model),
        "schedule": engine.step_schedule(recipe, model, 60_000 // recipe.batch_size),
        "optimizer": {k: v for k, v in optimizer.defaults.items() if k not in ("lr", "momentum")},
        "targets": recipe.label_smoothing,
        "batch": loader.batch(torch.arange(32))[0],
    }


@pytest.mark.parametrize("plan", ["ablations", "small", "tuning"])
def test_every_experiment_changes_what_the_model_optimizer_or_data_see(plan):
    """No experiment may be a silent no-op, as momentum was when OneCycleLR overwrote it."""
    base = what_training_sees(ex.get_experiment(ex.BASELINE).build())
    for exp in ex.get_plan(plan):
        if exp.key in (ex.BASELINE, "tune-base"):
            continue
        seen = what_training_sees(exp.build())
        changed = [part for part in base if not (torch.equal(seen[part], base[part]) if part == "batch"
                                                 else seen[part] == base[part])]
        assert changed, f"{exp.key} trains exactly as {ex.BASELINE} does"


def test_parameter_budgets():
    for exp in ex.get_plan("ablations") + ex.get_plan("training"):
        assert count_parameters(build_model(exp.build().model)) <= PARAMETERS, exp.key
    for exp in ex.get_plan("small"):
        assert count_parameters(build_model(exp.build().model)) < SMALL_PARAMETERS, exp.key
        assert len(exp.seeds) >= 5


def test_record_paths_are_one_scheme_and_unique():
    assert ex.record_path("pool-none", 2) == "pool-none-s2.json"
    runs = ex.all_planned_runs()
    assert all(path == ex.record_path(run.key, run.seed) for path, run in runs.items())
    total = sum(len(ex.planned_runs(p)) for p in ex.PLANS)
    shared = len(ex.planned_runs("training", only=["fast"]))  # the baseline is in two plans
    carried = sum(len(rnd[0].seeds) for rounds in ex.ROUNDS.values() for rnd in rounds[1:])  # a winner in two rounds
    assert len(runs) == total - shared - carried


def test_planned_runs_filters():
    assert [r.path for r in ex.planned_runs("ablations", only=["lr-0.1"], seeds=[2])] == ["lr-0.1-s2.json"]
    with pytest.raises(ConfigError, match="'nope' is not in this plan"):
        ex.planned_runs("ablations", only=["nope"])
    with pytest.raises(ConfigError, match="unknown plan 'big'"):
        ex.planned_runs("big")


def test_bad_overrides_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown field 'learning_rate'"):
        ex.Experiment("x", "optimizer", "c", "q", overrides={"learning_rate": 0.1}).build()
    with pytest.raises(ConfigError, match="augment: unknown field 'blur'"):
        ex.Experiment("x", "augment", "c", "q", overrides={"augment": {"blur": 1.0}}).build()
    with pytest.raises(ConfigError, match="lr=-1"):
        ex.Experiment("x", "optimizer", "c", "q", overrides={"lr": -1.0}).build()


def test_device_class():
    assert ex.device_class("cuda:0") == "gpu" and ex.device_class("cpu") == "cpu"
    assert ex.device_class({"environment": {"device": "cuda"}}) == "gpu"


# --- sweep --plan ------------------------------------------------------------------------------------


def test_sweep_plan_list_trains_nothing(tmp_path, capsys):
    assert main(["sweep", "--plan", "training", "--list", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path}/seed-s1.json  net6  missing" in out
    assert "0 of 10 runs of plan 'training' complete" in out
    assert not list(tmp_path.iterdir())


def test_sweep_plan_refuses_recipe_options(capsys):
    assert main(["sweep", "--plan", "ablations", "--lr", "0.1", "--list"]) == 2
    assert "--lr cannot be combined with --plan" in capsys.readouterr().err
    assert main(["sweep", "--only", "fast"]) == 2
    assert "--only and --list need --plan" in capsys.readouterr().err


def test_sweep_plan_runs_what_is_missing(tmp_path, capsys):
    try:
        root = prepare_mnist(download=False)
    except DataError as err:
        pytest.skip(f"MNIST is not available (set {ENV_VAR}): {err}")
    argv = ["sweep", "--plan", "ablations", "--only", "no-jitter", "--seeds", "2", "--dry-run", "--device", "cpu",
            "--jobs", "1", "--workers", "0", "--data-root", str(root), "--out-dir", str(tmp_path)]
    assert main(argv) == 0
    record = load_record(tmp_path / "no-jitter-s2.json")
    assert record["config"]["recipe"]["name"] == "no-jitter" and record["config"]["seed"] == 2
    assert record["config"]["recipe"]["augment"]["brightness"] == 0.0
    capsys.readouterr()
    assert main(argv) == 0
    assert "skipped" in capsys.readouterr().out
