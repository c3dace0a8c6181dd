"""The draw-a-digit page's network: the committed checkpoint, its export for the page's plain-JavaScript
forward pass (tools/web/net.js, run here in Node), and the sample digits."""

import base64
import json
import shutil
import subprocess

import numpy as np
import pytest
import torch
from torch import nn

from s6lib.lab.records import load_record
from s6lib.mnist import digit, engine, train
from s6lib.mnist.data import MEAN, STD, device_loaders, mnist_tensors
from s6lib.mnist.recipes import RECIPES

from conftest import CHECKPOINT, ROOT, page_input

RECORD = CHECKPOINT.with_suffix(".json")
NET_JS = ROOT / "tools" / "web" / "net.js"


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


def net_js(network_path, inputs: torch.Tensor) -> list[dict]:
    """tools/web/net.js's forward pass, run by Node on each input: scores, log-probabilities, maps."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is missing: it runs `make vendor` (npm) and this check (Debian: apt-get install nodejs)",
                    pytrace=False)
    script = f"""
        const S6Net = require({json.dumps(str(NET_JS))}), fs = require("fs");
        const net = S6Net.load(JSON.parse(fs.readFileSync({json.dumps(str(network_path))})));
        const inputs = JSON.parse(fs.readFileSync(0));
        console.log(JSON.stringify(inputs.map((x) => {{
            const out = S6Net.forward(net, x);
            return {{scores: out.scores, logProbs: out.logProbs, prediction: out.prediction,
                     blocks: out.blocks.map((b) => Array.from(b.data))}};
        }})));"""
    result = subprocess.run([node, "-e", script], input=json.dumps(inputs.flatten(1).tolist()),
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_the_pages_javascript_gives_pytorchs_probabilities_and_maps(exported, mnist_root):
    out, _ = exported
    model, _ = train.load_checkpoint(CHECKPOINT)
    images, _ = mnist_tensors(False, mnist_root, limit=48)
    noise = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    x = torch.cat([page_input(images), noise])  # MNIST digits, and inputs unlike any digit
    theirs = net_js(out / digit.MODEL_FILE, x)
    with torch.no_grad():
        ours = digit.WithBlocks(model)(x)
    log_probs = np.array([t["logProbs"] for t in theirs])
    np.testing.assert_allclose(np.exp(log_probs), ours[0].exp().numpy(), atol=1e-5, rtol=0)  # the page: 1e-4
    np.testing.assert_allclose(log_probs, ours[0].numpy(), atol=1e-4, rtol=0)
    assert [t["prediction"] for t in theirs] == ours[0].argmax(1).tolist()
    for block in range(5):
        maps = np.array([t["blocks"][block] for t in theirs])
        np.testing.assert_allclose(maps, ours[block + 1].flatten(1).numpy(), atol=1e-4, rtol=0)
    assert ours[-1].shape[1:] == (10, 2, 2)  # the class maps before the average pool
    scores = np.array([t["scores"] for t in theirs])
    np.testing.assert_allclose(scores, ours[-1].mean((2, 3)).numpy(), atol=1e-4, rtol=0)  # each map's mean


def test_the_page_facts_and_sample_digits(exported, mnist_root):
    out, paths = exported
    facts = json.loads((out / digit.DIGITS_FILE).read_text())
    record = load_record(RECORD)
    assert facts["final_test_acc"] == record["epochs"][-1]["test_acc"] and facts["seed"] == 1
    assert facts["normalize"] == {"mean": MEAN, "std": STD}
    assert [b["rf"] for b in facts["blocks"]] == [3, 5, 10, 14, 24]  # the Net6 chapter's calculation
    missed = dict(map(tuple, record["misclassified"]))
    gallery = digit.gallery_indices(root=mnist_root)
    assert len(gallery) == digit.GALLERY_SIZE
    digits = facts["digits"]
    assert len(digits) == 24 and sum(d["index"] in missed for d in digits) == 8
    assert all(d["in_gallery"] == (d["index"] in gallery) for d in digits)
    # the misread samples are first those the gallery also shows
    in_both = sorted(set(missed) & gallery)
    assert {d["index"] for d in digits if d["index"] in missed} >= set(in_both[:8])
    images, labels = mnist_tensors(False, mnist_root)
    assert all(base64.b64decode(d["pixels"]) == images[d["index"], 0].numpy().tobytes()
               and d["label"] == labels[d["index"]] for d in digits)
    assert sum(p.stat().st_size for p in paths) < 200_000  # the page's network and samples


def test_a_checkpoint_from_another_run_is_refused(tmp_path):
    other = load_record(RECORD)
    other["config"]["seed"] = 2
    from s6lib.lab.records import fingerprint, write_record
    other["config_fingerprint"] = fingerprint(other["config"])
    write_record(other, tmp_path / "other.json")
    with pytest.raises(ValueError, match="was not saved by the run of"):
        digit.write_site_files(CHECKPOINT, tmp_path / "out", record_path=tmp_path / "other.json")


def test_a_layer_the_pages_javascript_lacks_is_refused_by_name():
    model, _ = train.load_checkpoint(CHECKPOINT)
    model.layers.add_module("head", nn.Linear(10, 10))
    with pytest.raises(ValueError, match=r"head: the page's forward pass has no Linear"):
        digit.network(model)
    model, _ = train.load_checkpoint(CHECKPOINT)
    model.layers.conv1.dilation = (2, 2)
    with pytest.raises(ValueError, match="conv1: the page's forward pass has plain convolutions only"):
        digit.network(model)
