"""The draw-a-digit page's model: the committed checkpoint, its ONNX export, and the sample digits."""

import json

import numpy as np
import pytest
import torch

from s6lib import digit, engine, train
from s6lib.data import device_loaders
from s6lib.records import load_record
from s6lib.recipes import RECIPES

from conftest import ROOT

CHECKPOINT = ROOT / "book" / "model" / "fast-s1.pt"
RECORD = CHECKPOINT.with_suffix(".json")


@pytest.mark.slow
def test_the_committed_checkpoint_scores_what_its_record_says(mnist_root, one_thread):
    """Its weights, evaluated afresh on the 10,000 test images, give the record's final accuracy."""
    model, meta = train.load_checkpoint(CHECKPOINT)
    record = load_record(RECORD)
    assert meta["config_fingerprint"] == record["config_fingerprint"] and record["status"] == "complete"
    assert record["engine"]["precision"] == "float32"  # so any CPU evaluates it the same way
    recipe = RECIPES[record["config"]["recipe"]["name"]]
    _, test_loader = device_loaders(recipe, root=mnist_root, device=torch.device("cpu"), seed=1)
    loss, acc = engine.test(model, test_loader, torch.device("cpu"))
    assert acc == record["epochs"][-1]["test_acc"]
    assert engine.misclassified(model, test_loader, torch.device("cpu")) == record["misclassified"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, mnist_root):
    out = tmp_path_factory.mktemp("draw")
    paths = digit.write_site_files(CHECKPOINT, out, root=mnist_root)
    return out, paths


def test_the_onnx_model_gives_pytorchs_log_probabilities_and_maps(exported, mnist_root):
    ort = pytest.importorskip("onnxruntime")
    out, _ = exported
    model, _ = train.load_checkpoint(CHECKPOINT)
    _, test_loader = device_loaders(RECIPES["fast"], root=mnist_root, device=torch.device("cpu"), seed=1)
    images, _ = next(iter(test_loader))
    images = images[:64]
    session = ort.InferenceSession(str(out / digit.ONNX_FILE))
    theirs = session.run(None, {"image": images.numpy()})
    with torch.no_grad():
        ours = digit.WithBlocks(model)(images)
    assert [o.name for o in session.get_outputs()] == ["log_probs"] + [f"block{i}" for i in range(1, 6)]
    for a, b in zip(theirs, ours):
        np.testing.assert_allclose(a, b.numpy(), atol=1e-4, rtol=0)
    assert ours[-1].shape == (64, 10, 2, 2)  # the class maps before the average pool
    np.testing.assert_allclose(torch.log_softmax(ours[-1].mean((2, 3)), 1), ours[0], atol=1e-5)


def test_the_page_facts_and_sample_digits(exported):
    out, paths = exported
    facts = json.loads((out / digit.DIGITS_FILE).read_text())
    record = load_record(RECORD)
    assert facts["final_test_acc"] == record["epochs"][-1]["test_acc"] and facts["seed"] == 1
    assert [b["rf"] for b in facts["blocks"]] == [3, 5, 10, 14, 24]  # the Net6 chapter's calculation
    missed = dict(map(tuple, record["misclassified"]))
    wrong = [d for d in facts["digits"] if d["wrong"]]
    assert len(facts["digits"]) == 24 and len(wrong) == 8
    assert all(missed[d["index"]] == d["predicted"] for d in wrong)
    assert all(len(d["pixels"]) == 784 and max(d["pixels"]) <= 255 for d in facts["digits"])
    assert sum(p.stat().st_size for p in paths) < 1_000_000


def test_a_checkpoint_from_another_run_is_refused(tmp_path):
    other = load_record(RECORD)
    other["config"]["seed"] = 2
    from s6lib.records import fingerprint, write_record
    other["config_fingerprint"] = fingerprint(other["config"])
    write_record(other, tmp_path / "other.json")
    with pytest.raises(ValueError, match="was not saved by the run of"):
        digit.write_site_files(CHECKPOINT, tmp_path / "out", record_path=tmp_path / "other.json")
