"""Receptive field of each layer: output size, jump and receptive field.

One rule covers every layer that has a kernel, convolutions and pools alike. A layer
with kernel k, stride s and padding p, fed a map of size n whose neighbouring pixels
are `jump` input pixels apart and each see `rf` input pixels, gives

    n    <- (n + 2p - k) // s + 1
    rf   <- rf + (k - 1) * jump     (its k neighbouring inputs span k - 1 more jumps)
    jump <- jump * s                (then: the distance between neighbouring outputs)

ReLU, BatchNorm and Dropout work pixel by pixel and leave all three unchanged,
so only convolutions and pools get a row. `measured_receptive_fields` finds the same
numbers a second way, with autograd, for the tests.
"""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from .models import build_model
from .specs import INPUT_SHAPE, NetSpec

KERNEL_LAYERS = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


def receptive_field(model: nn.Module | NetSpec | str) -> list[dict]:
    """One dict per conv/pool layer (plus the input): layer, kernel, stride, padding, size, jump, rf."""
    if not isinstance(model, nn.Module):
        model = build_model(model)
    size, jump, rf = INPUT_SHAPE[1], 1, 1
    rows = [dict(layer="input", kernel=None, stride=None, padding=None, size=size, jump=jump, rf=rf)]
    for name, layer in model.layers.named_children():
        if not isinstance(layer, KERNEL_LAYERS):
            continue
        k, s, p = (_int(getattr(layer, a)) for a in ("kernel_size", "stride", "padding"))
        size = (size + 2 * p - k) // s + 1
        rf = rf + (k - 1) * jump
        jump = jump * s
        rows.append(dict(layer=name, kernel=k, stride=s, padding=p, size=size, jump=jump, rf=rf))
    return rows


def receptive_field_table(model: nn.Module | NetSpec | str):
    """`receptive_field` as a pandas DataFrame indexed by layer name, for the chapters."""
    return pd.DataFrame(receptive_field(model)).set_index("layer").astype("Int64")  # Int64: the input row has no kernel


def last_conv_rf(model: nn.Module | NetSpec | str) -> int:
    """Receptive field of the last 3×3 conv, in input pixels: what the head's inputs each see."""
    return [row for row in receptive_field(model) if row["layer"].startswith("conv") and row["kernel"] == 3][-1]["rf"]


def measured_receptive_fields(model: NetSpec | str) -> dict[str, int]:
    """Each conv and pool layer's receptive field, measured: the height of the patch of input pixels
    whose gradient on the layer's top-left output is not zero.

    With every weight positive, every input 1 and max-pools read as average pools (same kernel and
    stride: a max-pool passes gradient to one pixel of each window, an average pool to all), no path
    from an input pixel in the patch can cancel or be cut by a ReLU, so the patch is the whole
    receptive field. Float64, on the CPU.
    """
    net = build_model(model).double().eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()
    x = torch.ones(1, *INPUT_SHAPE, dtype=torch.float64, requires_grad=True)
    out, corners = x, {}
    for name, module in net.layers.named_children():
        if isinstance(module, nn.MaxPool2d):
            module = nn.AvgPool2d(module.kernel_size, module.stride, module.padding)
        out = module(out)
        if isinstance(module, KERNEL_LAYERS):
            corners[name] = out[0, 0, 0, 0]
    fields = {}
    for name, corner in corners.items():
        (grad,) = torch.autograd.grad(corner, x, retain_graph=True)
        rows = grad[0, 0].abs().sum(dim=1).nonzero()
        fields[name] = int(rows.max() - rows.min() + 1)
    return fields


def _int(value) -> int:
    """Conv2d keeps kernel/stride/padding as pairs, pools as ints; our layers are square."""
    return value[0] if isinstance(value, tuple) else value
