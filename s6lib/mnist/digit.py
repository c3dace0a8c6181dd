"""Net6 in the browser, for the draw-a-digit page (book/mnist/draw.ipynb): the trained network as a
list of layers with their weights, which a plain-JavaScript forward pass (tools/web/net.js) runs,
and a few MNIST test digits.

    python -m s6lib export-digit --checkpoint book/model/fast-s1.pt --out-dir _build/vendor_site/draw

writes `net6.json` (the layers in the order they run, conv weights as base64 float32, each
BatchNorm folded into the per-channel scale and shift it applies in eval mode, dropout left out;
the layer that ends each conv block marked with its block number) and `digits.json` (the page's
facts: normalization, blocks and their receptive fields, and the sample digits with their labels
and whether the training chapter's gallery shows them). The page's script (tools/web/draw.js)
reads both. A 17k-parameter network needs no runtime: the forward pass is about 100 lines.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import torch
from torch import nn

from ..lab.records import atomic_file, load_record
from .data import MEAN, STD, mnist_tensors
from .models import Net
from .receptive_field import receptive_field
from .train import checkpoint_record, load_checkpoint

MODEL_FILE, DIGITS_FILE = "net6.json", "digits.json"
GALLERY_SIZE = 24  # the training chapter's gallery: the 24 test digits most fast-recipe seeds miss


class WithBlocks(nn.Module):
    """A Net whose forward also returns each conv block's output: the maps after the block's last
    conv/ReLU/BatchNorm layer (before any pool, dropout or 1×1 transition)."""

    def __init__(self, net: Net):
        super().__init__()
        self.net = net
        self.block_ends = block_ends(net)

    def forward(self, x: torch.Tensor):
        maps = []
        for name, layer in self.net.layers.named_children():
            x = layer(x)
            if name in self.block_ends:
                maps.append(x)
        return (torch.log_softmax(x.flatten(1), dim=1), *maps)


def block_ends(net: Net) -> list[str]:
    """The name of the layer that ends each conv block (conv, ReLU or BatchNorm, whichever is last)."""
    names = [name for name, _ in net.layers.named_children()]
    return [[name for name in names if name in (f"conv{n}", f"relu{n}", f"bn{n}")][-1]
            for n in range(1, len(net.spec.channels) + 1)]


def block_facts(model: Net) -> list[dict]:
    """For each conv block: its name, maps, map size, and receptive field (input pixels a map pixel sees)."""
    rows = {row["layer"]: row for row in receptive_field(model)}
    with torch.no_grad():
        shapes = [tuple(m.shape[1:]) for m in WithBlocks(model).eval()(torch.zeros(1, 1, 28, 28))[1:]]
    facts = []
    for number, shape in enumerate(shapes, 1):
        facts.append({"block": number, "maps": shape[0], "size": shape[1], "rf": rows[f"conv{number}"]["rf"]})
    return facts


def blocks_table(model: Net):
    """`block_facts` as the page shows it (a pandas DataFrame)."""
    import pandas as pd  # lazy: the export does not need it

    return pd.DataFrame([{"block": f["block"], "maps": f["maps"], "map size": f"{f['size']}×{f['size']}",
                          "each map pixel sees": f"{f['rf']}×{f['rf']} input pixels"} for f in block_facts(model)])


def model_facts(record_path: str | Path) -> dict | None:
    """What the page says of the model it runs, from its record: name, parameters, size in KB as
    float32, recipe, seed, epochs, device, number format and final test accuracy; None without it."""
    record_path = Path(record_path)
    if not record_path.exists():
        return None
    record = load_record(record_path)
    parameters = record["model"]["parameters"]
    return {"name": record["model"]["name"], "parameters": parameters, "kb": 4 * parameters / 1000,
            "recipe": record["config"]["recipe"]["name"], "seed": record["config"]["seed"],
            "epochs": len(record["epochs"]), "device": record["environment"]["device_name"],
            "precision": record["engine"]["precision"], "final_acc": record["epochs"][-1]["test_acc"]}


def _floats(t: torch.Tensor) -> str:
    return base64.b64encode(t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()).decode()


def _pair(value, name: str, layer: str) -> int:
    a, b = (value, value) if isinstance(value, int) else value
    if a != b:
        raise ValueError(f"{layer}: the page's forward pass needs a square {name}, not {value}")
    return a


def network(model: Net) -> dict:
    """`model` (eval mode) as the layers tools/web/net.js runs, in order, with their weights."""
    ends = {name: n for n, name in enumerate(block_ends(model), 1)}
    layers = []
    for name, layer in model.layers.named_children():
        if isinstance(layer, nn.Conv2d):
            if layer.groups != 1 or _pair(layer.dilation, "dilation", name) != 1 or layer.padding_mode != "zeros":
                raise ValueError(f"{name}: the page's forward pass has plain convolutions only (no groups, "
                                 "dilation or padding modes): add them to tools/web/net.js and s6lib/mnist/digit.py")
            op = {"op": "conv", "out": layer.out_channels, "k": _pair(layer.kernel_size, "kernel", name),
                  "stride": _pair(layer.stride, "stride", name), "pad": _pair(layer.padding, "padding", name),
                  "weight": _floats(layer.weight), "bias": None if layer.bias is None else _floats(layer.bias)}
        elif isinstance(layer, nn.BatchNorm2d):
            scale = layer.weight / torch.sqrt(layer.running_var + layer.eps)
            op = {"op": "affine", "scale": _floats(scale), "shift": _floats(layer.bias - layer.running_mean * scale)}
        elif isinstance(layer, nn.ReLU):
            op = {"op": "relu"}
        elif isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)):
            if _pair(layer.padding, "padding", name) or layer.ceil_mode:
                raise ValueError(f"{name}: the page's forward pass pools with no padding and no ceil_mode")
            op = {"op": "maxpool" if isinstance(layer, nn.MaxPool2d) else "avgpool",
                  "k": _pair(layer.kernel_size, "kernel", name), "stride": _pair(layer.stride, "stride", name)}
        elif isinstance(layer, nn.AdaptiveAvgPool2d) and _pair(layer.output_size, "output size", name) == 1:
            op = {"op": "gap"}
        elif isinstance(layer, (nn.Dropout, nn.Dropout2d, nn.Identity)):
            continue  # nothing in eval mode
        else:
            raise ValueError(f"{name}: the page's forward pass has no {type(layer).__name__}: "
                             "add it to tools/web/net.js and s6lib/mnist/digit.py")
        layers.append({"name": name, **op, **({"block": ends[name]} if name in ends else {})})
    return {"layers": layers}


def gallery_indices(runs_dir=None, root=None) -> set[int]:
    """The test digits the training chapter's gallery shows: the `GALLERY_SIZE` that the most of the
    training plan's complete fast-recipe runs get wrong (s6lib.analysis.mistakes.hardest_digits). Empty when
    no such run is recorded."""
    from ..analysis.mistakes import hardest_digits, mnist_test_labels
    from ..lab.runs import load_runs, locate_runs

    runs_dir = locate_runs().path if runs_dir is None else runs_dir
    done = [r.record for r in load_runs("training", runs_dir) if r.key == "fast" and r.complete]
    if not done:
        return set()
    return set(hardest_digits(done, mnist_test_labels(root), n=GALLERY_SIZE)["index"].tolist())


def sample_digits(record: dict, gallery: set[int], right: int = 16, wrong: int = 8, root=None) -> list[dict]:
    """MNIST test digits for the page, in test-set order: `wrong` of those the record's final model
    misclassifies (those in the gallery first) and `right` spread over the rest. Each with its own
    28×28 pixels (784 bytes, 0-255, row by row, in base64) and whether the gallery shows it; the page
    itself says which it gets wrong."""
    images, labels = mnist_tensors(False, root)
    missed = sorted(index for index, _ in record["misclassified"])
    picked = sorted(missed, key=lambda i: i not in gallery)[:wrong]
    others = [i for i in range(len(labels)) if i not in set(missed)]
    picked += others[::len(others) // right][:right]
    return [{"index": i, "label": int(labels[i]), "in_gallery": i in gallery,
             "pixels": base64.b64encode(images[i, 0].numpy().tobytes()).decode()} for i in sorted(picked)]


def _write_json(data: dict, path: Path) -> Path:
    with atomic_file(path) as f:
        json.dump(data, f, separators=(",", ":"))
    return path


def write_site_files(checkpoint: str | Path, out_dir: str | Path, record_path: str | Path | None = None,
                     root=None, runs_dir=None) -> list[Path]:
    """net6.json and digits.json for the draw-a-digit page, into `out_dir`. The record (default: the
    checkpoint's .json sibling) must be the checkpoint's run."""
    model, meta = load_checkpoint(checkpoint)
    record_path = Path(record_path or Path(checkpoint).with_suffix(".json"))
    record = checkpoint_record(checkpoint, record_path)  # CheckpointError unless that run saved it
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    facts = {
        "model": meta["model"], "parameters": record["model"]["parameters"], "record": record_path.name,
        "final_test_acc": record["epochs"][-1]["test_acc"], "seed": record["config"]["seed"],
        "normalize": {"mean": MEAN, "std": STD} if record["config"]["recipe"].get("normalize", True) else None,
        "blocks": block_facts(model),
        "digits": sample_digits(record, gallery_indices(runs_dir, root), root=root),
    }
    return [_write_json(network(model), out_dir / MODEL_FILE), _write_json(facts, out_dir / DIGITS_FILE)]

