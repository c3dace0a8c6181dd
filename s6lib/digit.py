"""Net6 in the browser: the trained model exported to ONNX, each conv block's activations as extra
outputs, and a few MNIST test digits, for the draw-a-digit page (book/mnist/draw.ipynb).

    python -m s6lib export-digit --checkpoint book/model/fast-s1.pt --out-dir _build/vendor_site/draw

writes `net6.onnx` (inputs: "image", [batch, 1, 28, 28], normalized as the recipe's training
inputs; outputs: "log_probs" [batch, 10] and "block1" … "blockN", each block's maps after its
BatchNorm) and `digits.json` (the page's facts: normalization, blocks and their receptive fields,
and the sample digits with their labels). The page's script (tools/web/draw.js) reads both.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from .data import MEAN, STD, mnist_tensors
from .models import Net
from .receptive_field import receptive_field
from .records import load_record
from .train import load_checkpoint

ONNX_FILE, DIGITS_FILE = "net6.onnx", "digits.json"
OPSET = 18


class WithBlocks(nn.Module):
    """A Net whose forward also returns each conv block's output: the maps after the block's last
    conv/ReLU/BatchNorm layer (before any pool, dropout or 1×1 transition)."""

    def __init__(self, net: Net):
        super().__init__()
        self.net = net
        names = [name for name, _ in net.layers.named_children()]
        self.block_ends = [[name for name in names if name in (f"conv{n}", f"relu{n}", f"bn{n}")][-1]
                           for n in range(1, len(net.spec.channels) + 1)]

    def forward(self, x: torch.Tensor):
        maps = []
        for name, layer in self.net.layers.named_children():
            x = layer(x)
            if name in self.block_ends:
                maps.append(x)
        return (torch.log_softmax(x.flatten(1), dim=1), *maps)


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


def about(record_path: str | Path) -> str:
    """Which trained model the page runs, from its record; or why it is not here."""
    record_path = Path(record_path)
    if not record_path.exists():
        return (f"The trained model's record ({record_path.name}) is not beside this notebook: the drawing pad "
                "works on the book's website, which serves the model.")
    record = load_record(record_path)
    recipe = record["config"]["recipe"]
    return (f"The page runs `{record['model']['name']}` ({record['model']['parameters']:,} parameters) trained with "
            f"the `{recipe['name']}` recipe, seed {record['config']['seed']}, for {len(record['epochs'])} epochs on "
            f"{record['environment']['device_name']} in {record['engine']['precision']}; its final test accuracy "
            f"was {record['epochs'][-1]['test_acc']:.2f}% on MNIST's 10,000 test digits.")


def export_onnx(model: Net, path: str | Path) -> Path:
    """`model` (eval mode) with its block outputs as one self-contained ONNX file; a dynamic batch."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapped = WithBlocks(model.eval()).eval()
    outputs = ["log_probs"] + [f"block{i}" for i in range(1, len(wrapped.block_ends) + 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's progress notes are not warnings about this model
        torch.onnx.export(wrapped, (torch.zeros(2, 1, 28, 28),), str(path), dynamo=True, external_data=False,
                          input_names=["image"], output_names=outputs, opset_version=OPSET,
                          dynamic_shapes={"x": {0: torch.export.Dim("batch")}}, verbose=False)
    return path


def sample_digits(record: dict, right: int = 16, wrong: int = 8, root=None) -> list[dict]:
    """MNIST test digits for the page: `wrong` of those the record's final model misclassifies (with
    its prediction) and `right` spread over the rest, in test-set order."""
    images, labels = mnist_tensors(False, root)
    missed = {index: predicted for index, predicted in record["misclassified"]}
    picked = sorted(missed)[:wrong]
    others = [i for i in range(len(labels)) if i not in missed]
    picked += others[::len(others) // right][:right]
    return [{"index": i, "label": int(labels[i]), "wrong": i in missed, "predicted": missed.get(i),
             "pixels": images[i, 0].flatten().tolist()} for i in sorted(picked)]


def write_site_files(checkpoint: str | Path, out_dir: str | Path, record_path: str | Path | None = None,
                     root=None) -> list[Path]:
    """The ONNX model and digits.json for the draw-a-digit page, into `out_dir`. The record (default:
    the checkpoint's .json sibling) must be the checkpoint's run."""
    model, meta = load_checkpoint(checkpoint)
    record_path = Path(record_path or Path(checkpoint).with_suffix(".json"))
    record = load_record(record_path)
    if record["config_fingerprint"] != meta["config_fingerprint"]:
        raise ValueError(f"{checkpoint} was not saved by the run of {record_path} (config fingerprints differ)")
    out_dir = Path(out_dir)
    onnx_path = export_onnx(model, out_dir / ONNX_FILE)
    facts = {
        "model": meta["model"], "record": record_path.name,
        "final_test_acc": record["epochs"][-1]["test_acc"], "seed": record["config"]["seed"],
        "normalize": {"mean": MEAN, "std": STD} if record["config"]["recipe"].get("normalize", True) else None,
        "blocks": block_facts(model), "digits": sample_digits(record, root=root),
    }
    digits_path = out_dir / DIGITS_FILE
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{DIGITS_FILE}.")
    with os.fdopen(fd, "w") as f:
        json.dump(facts, f, separators=(",", ":"))
    os.chmod(tmp, 0o644)
    os.replace(tmp, digits_path)
    return [onnx_path, digits_path]
