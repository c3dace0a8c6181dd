"""Net6 and its variants as torch modules, built from their declarative description.

`build_model` turns a `NetSpec` (s6lib.mnist.specs: which 3×3 conv blocks there
are and where pooling, dropout and 1×1 transitions go), or a variant's name, into
a `torch.nn.Module`. `Net6` is the same network written out by hand, the code the
Net6 chapter shows (its weights load from a NetSpec model through `plain_state_dict`).

Every conv block is Conv(3×3, no padding) → ReLU → BatchNorm (Net6's order), and
the network ends in log-softmax, so the training loss is `F.nll_loss`.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .specs import BATCHNORM_CHOICES, HEAD_CHOICES, INPUT_SHAPE, NUM_CLASSES, NetSpec, get_spec


class Net(nn.Module):
    """A conv net described by a `NetSpec`: `layers` (a flat Sequential) → log-softmax."""

    def __init__(self, spec: NetSpec):
        super().__init__()
        self.spec = spec
        self.layers = nn.Sequential(_layers(spec))
        if spec.unused_linear:
            self.fc1 = nn.Linear(64, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.layers(x).flatten(1), dim=1)


def build_model(spec: NetSpec | str) -> Net:
    return Net(get_spec(spec) if isinstance(spec, str) else spec)


class Net6(nn.Module):
    """Net6 written out by hand, as a student would hand it in."""

    def __init__(self, dropout=0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)    # 1×28×28 -> 4×26×26
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3)    # -> 8×24×24, pooled to 12×12
        self.bn2 = nn.BatchNorm2d(8)
        self.conv3 = nn.Conv2d(8, 24, 3)   # -> 24×10×10
        self.bn3 = nn.BatchNorm2d(24)
        self.conv4 = nn.Conv2d(24, 48, 3)  # -> 48×8×8, pooled to 4×4
        self.bn4 = nn.BatchNorm2d(48)
        self.conv5 = nn.Conv2d(48, 10, 3)  # -> 10×2×2: a channel per digit
        self.bn5 = nn.BatchNorm2d(10)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        x = self.bn1(F.relu(self.conv1(x)))
        x = self.bn2(F.relu(self.conv2(x)))
        x = F.max_pool2d(x, 2)
        x = self.dropout(self.bn3(F.relu(self.conv3(x))))
        x = self.bn4(F.relu(self.conv4(x)))
        x = F.max_pool2d(x, 2)
        x = self.dropout(self.bn5(F.relu(self.conv5(x))))
        x = F.avg_pool2d(x, 2)             # global average pooling
        return F.log_softmax(x.flatten(1), dim=1)


def plain_state_dict(model: Net) -> dict[str, torch.Tensor]:
    """A NetSpec-built model's weights under the names a hand-written module gives them
    (`layers.conv1.weight` -> `conv1.weight`): `Net6().load_state_dict(plain_state_dict(net))`."""
    return {name.removeprefix("layers."): value for name, value in model.state_dict().items()}


def _layers(spec: NetSpec) -> OrderedDict:
    _check(spec)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    transitions = dict(spec.transitions)
    channels, size = INPUT_SHAPE[0], INPUT_SHAPE[1]

    def block(name: str, out: int, kernel: int) -> None:
        layers[f"conv{name}"] = nn.Conv2d(channels, out, kernel, bias=spec.bias)
        bn = {f"bn{name}": nn.BatchNorm2d(out)} if spec.batchnorm != "none" else {}
        relu = {f"relu{name}": nn.ReLU()}
        layers.update({**bn, **relu} if spec.batchnorm == "before_relu" else {**relu, **bn})

    for i, out in enumerate(spec.channels):
        n = i + 1
        block(str(n), out, 3)
        channels, size = out, size - 2
        if i in spec.pool_after:
            layers[f"pool{n}"] = nn.MaxPool2d(2)
            size //= 2
        if i in transitions:
            block(f"{n}_1x1", transitions[i], 1)
            channels = transitions[i]
        if i in spec.dropout_after:
            layers[f"drop{n}"] = nn.Dropout(spec.dropout)
        if size < 1:
            raise ValueError(f"the feature map shrinks below 1×1 after block {i}: too many convs or pools for 28×28")
    if spec.head == "gap":
        layers["gap"] = nn.AvgPool2d(size)  # Net6: AvgPool2d(2) on its 2×2 map
    elif spec.head == "gap-1x1":
        layers["gap"] = nn.AvgPool2d(size)
        layers["head"] = nn.Conv2d(channels, NUM_CLASSES, 1, bias=spec.bias)  # the class scores, unsquashed
    else:
        layers["flatten"] = nn.Flatten()
        layers["fc"] = nn.Linear(channels * size * size, NUM_CLASSES)
    return layers


def _check(spec: NetSpec) -> None:
    blocks = range(len(spec.channels))
    if spec.batchnorm not in BATCHNORM_CHOICES:
        raise ValueError(f"batchnorm={spec.batchnorm!r}; choose from: {', '.join(BATCHNORM_CHOICES)}")
    if spec.head not in HEAD_CHOICES:
        raise ValueError(f"head={spec.head!r}; choose from: {', '.join(HEAD_CHOICES)}")
    if spec.head == "gap" and spec.channels[-1] != NUM_CLASSES:
        raise ValueError(f"a GAP head needs {NUM_CLASSES} channels in the last block, not {spec.channels[-1]}")
    if not 0.0 <= spec.dropout < 1.0:
        raise ValueError(f"dropout={spec.dropout}: must be in [0, 1)")
    indices = [*spec.pool_after, *spec.dropout_after, *(b for b, _ in spec.transitions)]
    if any(i not in blocks for i in indices):
        raise ValueError(f"block indices {indices} must lie in 0..{len(spec.channels) - 1}")


def count_parameters(model: nn.Module) -> int:
    """All parameters the module holds (`model.parameters()`), used or not."""
    return sum(p.numel() for p in model.parameters())


def parameters_by_layer(model: nn.Module) -> dict[str, int]:
    """Parameter count of each layer that has parameters, in forward order."""
    counts = {name.removeprefix("layers."): sum(p.numel() for p in m.parameters())
              for name, m in model.named_modules()
              if not list(m.children())}
    return {name: n for name, n in counts.items() if n}


def parameters_table(variants: dict[str, str]):
    """Parameters of each layer (rows, in block order) of several models (columns, label -> variant
    name); None where a model has no such layer. A pandas DataFrame, for the chapters."""
    import pandas as pd  # lazy: not needed for training

    counts = {label: parameters_by_layer(build_model(variant)) for label, variant in variants.items()}
    names = {name for layers in counts.values() for name in layers}

    def order(name: str):  # conv3, bn3, conv3_1x1, bn3_1x1, conv4, ...
        kind, _, rest = name.partition("_")
        number = int(kind.lstrip("convb")) if kind.lstrip("convb").isdigit() else 99
        return number, bool(rest), not kind.startswith("conv"), name

    rows = sorted(names, key=order)
    return pd.DataFrame({label: [layers.get(n) for n in rows] for label, layers in counts.items()},
                        index=pd.Index(rows, name="layer"))


def count_used_parameters(model: nn.Module) -> int:
    """Parameters of the modules that run in a forward pass: torchsummary's count, the seed's 17,022."""
    ran: list[nn.Module] = []
    hooks = [m.register_forward_hook(lambda m, i, o: ran.append(m)) for m in model.modules()]
    try:
        _forward_one(model)
    finally:
        for h in hooks:
            h.remove()
    return sum(p.numel() for m in set(ran) for p in m.parameters(recurse=False))


def summary(model: nn.Module | NetSpec | str, **kwargs):
    """torchinfo's table for one 28×28 image, like the seed's table (kwargs go to torchinfo.summary).

    Its total counts every parameter the module holds (17,672 for "net6-original");
    `count_used_parameters` gives the seed's torchsummary count.
    """
    import torchinfo  # lazy: not needed for training
    from torchinfo.enums import Units

    if not isinstance(model, nn.Module):
        model = build_model(model)
    options = dict(
        input_size=(1, *INPUT_SHAPE),
        col_names=("output_size", "num_params"),
        col_width=14,  # the table fits the book's column
        row_settings=("var_names",),
        device="cpu",
        verbose=0,
    )
    stats = torchinfo.summary(model, **{**options, **kwargs})
    stats.formatting.macs_units = Units.NONE  # a count of multiply-adds ("1,056,868"), not "(Units.MEGABYTES): 1.06"
    return stats


def layer_shapes(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """(name, output shape without the batch dim) of each conv and pool layer, for one 28×28 image."""
    shapes = []
    hooks = [
        module.register_forward_hook(lambda m, i, o, name=name: shapes.append((name, tuple(o.shape[1:]))))
        for name, module in model.layers.named_children()
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))
    ]
    try:
        _forward_one(model)
    finally:
        for h in hooks:
            h.remove()
    return shapes


def _forward_one(model: nn.Module) -> None:
    """One blank 28×28 image through the model in eval mode, leaving its mode as it was."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *INPUT_SHAPE, device=next(model.parameters()).device))
    finally:
        model.train(was_training)
