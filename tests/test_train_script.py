"""The training script a student hands in (book/mnist/train_net6.py): it runs end to end, and it is
the library's fast recipe written out (model, augmentation, optimiser and schedule)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torchvision import transforms

from s6lib.mnist import data, models, specs
from s6lib.mnist.recipes import get_recipe

SCRIPT = Path(__file__).resolve().parents[1] / "book" / "mnist" / "train_net6.py"
FAST = get_recipe("fast")


@pytest.fixture(scope="module")
def script():
    """The script imported as a module (its main() does not run on import)."""
    spec = importlib.util.spec_from_file_location("train_net6", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_does_not_need_the_library():
    source = SCRIPT.read_text()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports and not any("s6lib" in line for line in imports)


def test_net6_is_the_fast_recipes_model(script):
    ours = script.Net6()
    library = models.build_model(FAST.model)
    assert models.count_parameters(ours) == models.count_parameters(library)
    ours_shapes = [tuple(p.shape) for p in ours.state_dict().values()]
    library_shapes = [tuple(p.shape) for p in library.state_dict().values()]
    assert ours_shapes == library_shapes
    # the same weights give the same outputs, dropout included (train mode, same generator state)
    ours.load_state_dict(models.plain_state_dict(library))
    images = torch.randn(8, 1, 28, 28)
    for mode in (False, True):
        ours.train(mode), library.train(mode)
        torch.manual_seed(0)
        a = ours(images)
        torch.manual_seed(0)
        assert torch.equal(a, library(images))
    assert ours.dropout.p == specs.get_spec(FAST.model).dropout


def _steps(compose: transforms.Compose) -> dict[type, object]:
    return {type(t): t for t in compose.transforms}


def test_augmentation_is_the_recipes(script):
    aug = FAST.augment
    steps = _steps(script.train_transform)
    crop = steps[transforms.RandomApply]
    assert crop.p == aug.crop_prob and crop.transforms[0].size == (aug.crop_size, aug.crop_size)
    assert tuple(steps[transforms.Resize].size) == (data.IMAGE_SIZE,) * 2
    rotation = steps[transforms.RandomRotation]
    assert list(rotation.degrees) == [-aug.rotation, aug.rotation]
    assert rotation.interpolation.value == aug.interpolation
    jitter = steps[transforms.ColorJitter]
    assert jitter.brightness == (1 - aug.brightness, 1 + aug.brightness)
    assert jitter.contrast == (1 - aug.contrast, 1 + aug.contrast)
    affine = steps[transforms.RandomAffine]
    assert list(affine.degrees) == [-aug.affine_degrees, aug.affine_degrees]
    assert affine.interpolation.value == aug.interpolation
    assert (affine.translate or 0) == (aug.translate or 0)
    for compose in (script.train_transform, script.test_transform):
        normalize = _steps(compose)[transforms.Normalize]
        assert (normalize.mean, normalize.std) == ((data.MEAN,), (data.STD,)) and FAST.normalize
    # the order of the library's pipeline A, which pipeline B reproduces on the device
    library = [type(t) for t in data.train_transform(aug).transforms]
    assert [type(t) for t in script.train_transform.transforms] == library


def test_defaults_are_the_recipes(script):
    args = script.parse_args([])
    assert (args.epochs, args.batch_size, args.test_batch_size) == (FAST.epochs, FAST.batch_size,
                                                                   FAST.test_batch_size)
    assert (args.lr, args.momentum, args.weight_decay, args.pct_start) == (FAST.lr, FAST.momentum,
                                                                          FAST.weight_decay, FAST.pct_start)
    assert FAST.optimizer == "sgd" and FAST.nesterov and FAST.schedule == "onecycle"
    source = SCRIPT.read_text()
    assert "nesterov=True" in source and "OneCycleLR(" in source and "cycle_momentum=False" in source


def test_bad_arguments_get_a_message(script, capsys):
    with pytest.raises(SystemExit):
        script.parse_args(["--limit", "0"])
    assert "--limit must be at least 1" in capsys.readouterr().err


@pytest.mark.slow
def test_runs_end_to_end_on_a_subset(mnist_root, tmp_path):
    record, weights = tmp_path / "record.json", tmp_path / "net6.pt"
    env = {**os.environ, "S6_DATA_DIR": str(mnist_root), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(SCRIPT), "--limit", "256", "--epochs", "2", "--batch-size", "64",
                           "--workers", "0", "--device", "cpu", "--record", str(record),
                           "--save-model", str(weights)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    saved = json.loads(record.read_text())
    assert [e["epoch"] for e in saved["epochs"]] == [1, 2]
    assert saved["train_images"] == saved["test_images"] == 256
    for epoch in saved["epochs"]:
        assert epoch["test_acc"] == pytest.approx(100 * epoch["test_correct"] / 256)
        assert 0 <= epoch["test_loss"] < 10
    assert saved["settings"]["seed"] == 1 and saved["versions"]["torch"] == torch.__version__
    state = torch.load(weights)
    assert sum(v.numel() for k, v in state.items() if "running" not in k and "num_batches" not in k) == \
        saved["parameters"] == models.count_parameters(models.build_model(FAST.model))
    assert not (tmp_path / "data").exists()  # S6_DATA_DIR was used, nothing downloaded


RECORDS = SCRIPT.parent / "train_net6-runs"


def test_the_scripts_recorded_runs_are_the_script_as_it_stands():
    """Each committed run of the script ran its defaults on all of MNIST (a device and the loader's
    workers aside), so the page may call them the script's own results."""
    records = sorted(RECORDS.glob("train_net6-s*.json"))
    if not records:
        pytest.skip("no recorded runs of the script yet")
    defaults = vars(_parser_defaults())
    for path in records:
        record = json.loads(path.read_text())
        differs = {k: v for k, v in record["settings"].items()
                   if k not in ("seed", "device", "workers") and defaults.get(k) != v}
        assert not differs, f"{path.name} ran other settings than the script's defaults: {differs}"
        assert (record["train_images"], record["test_images"]) == (60_000, 10_000)
        assert len(record["epochs"]) == defaults["epochs"]


def _parser_defaults():
    spec = importlib.util.spec_from_file_location("train_net6_defaults", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse_args([])


@pytest.mark.slow
def test_the_training_page_states_the_scripts_recorded_runs(built_site):
    """The accuracies the training page gives for the script's runs are those runs' records."""
    import html
    import re

    records = [json.loads(p.read_text()) for p in sorted(RECORDS.glob("train_net6-s*.json"))]
    if not records:
        pytest.skip("no recorded runs of the script yet")
    page = (built_site / "book/mnist/training.html").read_text().replace("<wbr>", "")
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    finals = ", ".join(f"{r['epochs'][-1]['test_acc']:.2f}" for r in records)
    low = min(min(e["test_acc"] for e in r["epochs"][-3:]) for r in records)
    assert finals in text, f"the training page does not give the script's final accuracies {finals}"
    assert f"{low:.2f}" in text
    minutes = sorted(r["epochs"][-1]["seconds"] / 60 for r in records)  # an epoch's seconds count from the start
    median = (minutes[(len(minutes) - 1) // 2] + minutes[len(minutes) // 2]) / 2
    glue = json.loads((built_site.parent / "jupyter_execute/book/mnist/training.glue.json").read_text())
    assert glue["script-minutes"]["data"]["text/markdown"] == str(round(median))
