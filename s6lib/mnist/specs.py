"""Net6 and its variants as data: the declarative `NetSpec` and the named `VARIANTS`, without torch.

A `NetSpec` says which 3×3 conv blocks there are and where pooling, dropout and
1×1 transitions go; s6lib.mnist.models builds it into a `torch.nn.Module`. Net6
is one named entry in `VARIANTS`; each ablation is `dataclasses.replace(NET6, ...)`.
The run plans and records name and compare specs without building one, so this
module imports no torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

NUM_CLASSES = 10
INPUT_SHAPE = (1, 28, 28)  # MNIST: channels, height, width
BATCHNORM_CHOICES = ("after_relu", "before_relu", "none")
HEAD_CHOICES = ("gap", "fc", "gap-1x1")


@dataclass(frozen=True)
class NetSpec:
    channels: tuple[int, ...]  # output channels of each 3×3 conv block, in order
    pool_after: tuple[int, ...]  # MaxPool(2) after these blocks (0-based indices)
    dropout_after: tuple[int, ...]  # Dropout after these blocks
    dropout: float  # drop probability of every Dropout layer
    batchnorm: str = "after_relu"  # one of BATCHNORM_CHOICES
    transitions: tuple[tuple[int, int], ...] = ()  # (block, channels): a 1×1 conv block after that block
    head: str = "gap"  # "gap": last block has 10 channels, AvgPool to 1×1; "fc": Linear on the flattened map;
    #                    "gap-1x1": AvgPool to 1×1, then a 1×1 conv to the 10 class scores (no ReLU, no BatchNorm)
    unused_linear: bool = False  # the original's Linear(64, 10), which forward() never calls
    bias: bool = True  # convolutions with a bias term


# Fields added after run records existed: a record's spec names one only when it differs from this
# default, so every earlier record keeps its spec and fingerprint (as recipes.ADDED_LATER).
SPEC_ADDED_LATER = {"bias": True}


# Net6 as published: 17,022 parameters in the layers that run.
NET6 = NetSpec(channels=(4, 8, 24, 48, 10), pool_after=(1, 3), dropout_after=(2, 4), dropout=0.25)

VARIANTS: dict[str, NetSpec] = {
    "net6": NET6,
    # The module as the original code defines it: + Linear(64, 10) that is never
    # called. Its parameters() (and torchinfo's total) hold 17,672; the write-up's
    # 17,022 came from torchsummary, which adds up only the layers that ran.
    "net6-original": dataclasses.replace(NET6, unused_linear=True),
    "net6-no-dropout": dataclasses.replace(NET6, dropout=0.0),
    "net6-dropout-0.05": dataclasses.replace(NET6, dropout=0.05),
    "net6-dropout-early": dataclasses.replace(NET6, dropout_after=(0, 1, 2, 3, 4), dropout=0.05),
    "net6-bn-before-relu": dataclasses.replace(NET6, batchnorm="before_relu"),
    "net6-no-bn": dataclasses.replace(NET6, batchnorm="none"),
    "net6-fc-head": dataclasses.replace(NET6, head="fc"),
    "net6-transition": dataclasses.replace(NET6, transitions=((3, 16),)),
    "net6-wide": dataclasses.replace(NET6, channels=(8, 16, 24, 48, 10)),
    "net6-pool-early": dataclasses.replace(NET6, pool_after=(0, 3)),
    "net6-deeper": dataclasses.replace(
        NET6, channels=(4, 8, 16, 24, 48, 10), pool_after=(1, 4), dropout_after=(3, 5)
    ),
}

# Ablations of the fast recipe's model, "net6-dropout-0.05" (NET6_D05): one change each
# (s6lib/lab/experiments.py says which question each answers).
NET6_D05 = VARIANTS["net6-dropout-0.05"]
VARIANTS.update({
    # number of conv blocks: drop the 24-channel block / add a 16-channel one
    "net6-d05-convs-4": dataclasses.replace(NET6_D05, channels=(4, 8, 48, 10), pool_after=(1, 2), dropout_after=(2, 3)),
    "net6-d05-convs-6": dataclasses.replace(
        NET6_D05, channels=(4, 8, 16, 24, 48, 10), pool_after=(1, 4), dropout_after=(3, 5)
    ),
    # max-pool placement (and with it, the receptive field of the last conv)
    "net6-d05-pool-early": dataclasses.replace(NET6_D05, pool_after=(0, 3)),
    "net6-d05-pool-once": dataclasses.replace(NET6_D05, pool_after=(1,)),
    "net6-d05-pool-none": dataclasses.replace(NET6_D05, pool_after=()),
    # dropout rate
    "net6-dropout-0.1": dataclasses.replace(NET6, dropout=0.1),
    # the head
    "net6-d05-fc-head": dataclasses.replace(NET6_D05, head="fc"),
    # channel widths
    "net6-d05-narrow": dataclasses.replace(NET6_D05, channels=(4, 8, 16, 32, 10)),
    "net6-d05-wide": dataclasses.replace(NET6_D05, channels=(8, 16, 24, 48, 10)),
    # 1×1 convolutions: one that squeezes channels mid-network, and a transition (max-pool → 1×1)
    "net6-d05-conv1x1": dataclasses.replace(NET6_D05, transitions=((2, 16),)),
    "net6-d05-transition": dataclasses.replace(NET6_D05, transitions=((3, 16),)),
    # BatchNorm position
    "net6-d05-bn-before-relu": dataclasses.replace(NET6_D05, batchnorm="before_relu"),
    "net6-d05-no-bn": dataclasses.replace(NET6_D05, batchnorm="none"),
    # Under 8,000 parameters (the "going further" chapter): three shapes
    "small-net6": dataclasses.replace(NET6_D05, channels=(8, 12, 16, 20, 10)),  # Net6's shape, narrower
    "small-squeeze": dataclasses.replace(  # expand to 20, squeeze to 10 with a transition, six 3×3 blocks
        NET6_D05, channels=(10, 10, 20, 10, 20, 10), pool_after=(2,), dropout_after=(3, 5), transitions=((2, 10),)
    ),
    "small-deep": dataclasses.replace(  # pool early, 1×1 back to 8 channels, then four 3×3 blocks
        NET6_D05, channels=(8, 16, 12, 16, 16, 10), pool_after=(1,), dropout_after=(3, 5), transitions=((1, 8),)
    ),
})

# Designs with a 1×1 head, drawn from the public sub-8k results (s6lib.analysis.field): convolutions without bias,
# one max-pool then a 1×1 squeeze, three 3×3 blocks, global average pooling, and a 1×1 conv to the
# 10 class scores that no ReLU or BatchNorm follows.
_ONE_BY_ONE = dataclasses.replace(NET6_D05, pool_after=(1,), head="gap-1x1", bias=False)
VARIANTS.update({
    "best-1x1": dataclasses.replace(_ONE_BY_ONE, channels=(16, 24, 24, 24, 32), transitions=((1, 12),)),
    "small-1x1": dataclasses.replace(_ONE_BY_ONE, channels=(8, 16, 16, 16, 16), transitions=((1, 10),)),
})

# Round 3 of the tuning (s6lib.lab.experiments.ROUNDS): each track's design in the order conv → BatchNorm →
# ReLU, its convolutions without the bias that BatchNorm's own shift makes redundant; the wide one without dropout.
VARIANTS.update({f"{name}-bn-first": dataclasses.replace(VARIANTS[name], batchnorm="before_relu", bias=False)
                 for name in ("net6-d05-wide", "small-deep")})
VARIANTS["net6-wide-no-dropout"] = dataclasses.replace(VARIANTS["net6-d05-wide"], dropout=0.0)


def get_spec(name: str) -> NetSpec:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from: {', '.join(VARIANTS)}") from None


def spec_text(spec: NetSpec | str) -> str:
    """A spec as Python source, one field to a line (narrow enough for the book's column)."""
    spec = get_spec(spec) if isinstance(spec, str) else spec
    fields = ",\n".join(f"    {f.name}={getattr(spec, f.name)!r}" for f in dataclasses.fields(spec))
    return f"NetSpec(\n{fields},\n)"


def spec_to_dict(spec: NetSpec) -> dict:
    """JSON-ready form of a spec (tuples become lists), for run records; SPEC_ADDED_LATER fields only when set."""
    fields = dataclasses.asdict(spec)
    for name, default in SPEC_ADDED_LATER.items():
        if fields[name] == default:
            del fields[name]
    return _json_ready(fields)


def _json_ready(obj):
    if isinstance(obj, dict):
        return {k: _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_ready(v) for v in obj]
    return obj


def block_table(spec: NetSpec | str):
    """One row per conv block, numbered from 1 as the layers are named (conv1, pool2, ...): its 3×3
    conv's output channels and what follows it. A pandas DataFrame, for the chapters."""
    import pandas as pd  # lazy: not needed for training

    spec = get_spec(spec) if isinstance(spec, str) else spec
    transitions = dict(spec.transitions)
    rows = []
    for i, channels in enumerate(spec.channels):
        after = ((["max-pool 2×2"] if i in spec.pool_after else [])
                 + ([f"1×1 conv to {transitions[i]}"] if i in transitions else [])
                 + ([f"dropout {spec.dropout:g}"] if i in spec.dropout_after and spec.dropout > 0 else []))
        rows.append({"block": i + 1, "3×3 conv to channels": channels, "then": ", ".join(after) or "–"})
    head = {"gap": "average pool to 1×1, log-softmax", "fc": "flatten, Linear to 10",
            "gap-1x1": "average pool to 1×1, 1×1 conv to 10, log-softmax"}[spec.head]
    rows.append({"block": "head", "3×3 conv to channels": "–", "then": head})
    return pd.DataFrame(rows)
