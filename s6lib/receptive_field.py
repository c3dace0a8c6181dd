"""Receptive field of each layer: output size, jump and receptive field.

For a layer with kernel k, stride s and padding p, fed a map of size n_in whose
pixels are j_in input pixels apart and each see r_in input pixels:

    n_out = (n_in + 2p - k) // s + 1
    j_out = j_in * s              (distance between neighbouring outputs, in input pixels)
    r_out = r_in + (k - 1) * j_in

ReLU, BatchNorm and Dropout work pixel by pixel and leave all three unchanged,
so only convolutions and pools get a row.
"""

from __future__ import annotations

import pandas as pd
from torch import nn

from .models import INPUT_SHAPE, NetSpec, build_model


def receptive_field(model: nn.Module | NetSpec | str) -> list[dict]:
    """One dict per conv/pool layer (plus the input): layer, kernel, stride, padding, size, jump, rf."""
    if not isinstance(model, nn.Module):
        model = build_model(model)
    size, jump, rf = INPUT_SHAPE[1], 1, 1
    rows = [dict(layer="input", kernel=None, stride=None, padding=None, size=size, jump=jump, rf=rf)]
    for name, layer in model.layers.named_children():
        if not isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            continue
        k, s, p = (_int(getattr(layer, a)) for a in ("kernel_size", "stride", "padding"))
        size, jump, rf = (size + 2 * p - k) // s + 1, jump * s, rf + (k - 1) * jump
        rows.append(dict(layer=name, kernel=k, stride=s, padding=p, size=size, jump=jump, rf=rf))
    return rows


def receptive_field_table(model: nn.Module | NetSpec | str):
    """`receptive_field` as a pandas DataFrame indexed by layer name, for the chapters."""
    return pd.DataFrame(receptive_field(model)).set_index("layer").astype("Int64")  # Int64: the input row has no kernel


def last_conv_rf(model: nn.Module | NetSpec | str) -> int:
    """Receptive field of the last 3×3 conv, in input pixels: what the head's inputs each see."""
    return [row for row in receptive_field(model) if row["layer"].startswith("conv") and row["kernel"] == 3][-1]["rf"]


def _int(value) -> int:
    """Conv2d keeps kernel/stride/padding as pairs, pools as ints; our layers are square."""
    return value[0] if isinstance(value, tuple) else value
