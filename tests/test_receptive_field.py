import pytest

from s6lib.mnist.models import build_model, layer_shapes
from s6lib.mnist.receptive_field import measured_receptive_fields, receptive_field, receptive_field_table
from s6lib.mnist.specs import VARIANTS

# Net6 by hand, with n <- (n + 2p - k) // s + 1, rf <- rf + (k - 1) * jump, then jump <- jump * s
# (the pools too: a 2×2 pool adds one jump to the receptive field before it doubles the jump):
#   input               n=28  j=1  r=1
#   conv1 k3 s1         n=26  j=1  r=1 + 2*1 = 3
#   conv2 k3 s1         n=24  j=1  r=3 + 2*1 = 5
#   pool2 k2 s2         n=12  j=2  r=5 + 1*1 = 6
#   conv3 k3 s1         n=10  j=2  r=6 + 2*2 = 10
#   conv4 k3 s1         n=8   j=2  r=10 + 2*2 = 14
#   pool4 k2 s2         n=4   j=4  r=14 + 1*2 = 16
#   conv5 k3 s1         n=2   j=4  r=16 + 2*4 = 24
#   gap (AvgPool k2 s2) n=1   j=8  r=24 + 1*4 = 28
# So each of conv5's four outputs sees 24×24 pixels, and the one output of the
# GAP sees all 28×28: the receptive field ends at 28, not 30.
NET6_BY_HAND = [
    ("input", 28, 1, 1),
    ("conv1", 26, 1, 3),
    ("conv2", 24, 1, 5),
    ("pool2", 12, 2, 6),
    ("conv3", 10, 2, 10),
    ("conv4", 8, 2, 14),
    ("pool4", 4, 4, 16),
    ("conv5", 2, 4, 24),
    ("gap", 1, 8, 28),
]


def test_net6_matches_the_hand_derivation():
    rows = receptive_field("net6")
    assert [(r["layer"], r["size"], r["jump"], r["rf"]) for r in rows] == NET6_BY_HAND


@pytest.mark.parametrize("name", VARIANTS)
def test_every_row_agrees_with_the_patch_autograd_finds(name):
    """The rule against a measurement that shares none of its arithmetic: the input pixels whose
    gradient on one output of the layer is not zero."""
    assert measured_receptive_fields(name) == {row["layer"]: row["rf"] for row in receptive_field(name)[1:]}


def test_the_measurement_sees_that_a_pool_widens_the_field():
    """The rule that only doubles the jump at a pool would give 5, 14 and 24 here."""
    measured = measured_receptive_fields("net6")
    assert [measured[layer] for layer in ("pool2", "pool4", "gap")] == [6, 16, 28]


@pytest.mark.parametrize("name", VARIANTS)
def test_sizes_agree_with_a_real_forward_pass(name):
    model = build_model(name)
    computed = [r["size"] for r in receptive_field(model)[1:]]
    assert computed == [shape[1] for _, shape in layer_shapes(model)]


def test_a_1x1_transition_keeps_the_receptive_field():
    rows = {r["layer"]: r for r in receptive_field("net6-transition")}
    assert rows["conv4_1x1"]["rf"] == rows["pool4"]["rf"] == 16
    assert rows["gap"]["rf"] == 28


def test_table_is_a_dataframe_by_layer():
    table = receptive_field_table("net6")
    assert list(table.columns) == ["kernel", "stride", "padding", "size", "jump", "rf"]
    assert table.loc["gap", "rf"] == 28 and table.loc["conv5", "size"] == 2
