import dataclasses

import pytest
import torch
from torch import nn

from s6lib.mnist.models import (
    Net6,
    build_model,
    count_parameters,
    count_used_parameters,
    layer_shapes,
    parameters_by_layer,
    parameters_table,
    plain_state_dict,
    summary,
)
from s6lib.mnist.specs import NET6, VARIANTS, NetSpec, get_spec, spec_text

# The seed's table: output of conv1, conv2, pool, conv3, conv4, pool, conv5, AvgPool.
SEED_SHAPES = [(4, 26, 26), (8, 24, 24), (8, 12, 12), (24, 10, 10), (48, 8, 8), (48, 4, 4), (10, 2, 2), (10, 1, 1)]


def test_net6_has_17022_parameters_and_the_seed_shapes():
    model = build_model("net6")
    assert count_parameters(model) == 17_022
    assert [shape for _, shape in layer_shapes(model)] == SEED_SHAPES


def test_original_module_holds_17672_but_runs_17022():
    model = build_model("net6-original")
    assert count_parameters(model) == 17_672  # + the unused Linear(64, 10): 64 * 10 + 10 = 650
    assert count_used_parameters(model) == 17_022
    assert isinstance(model.fc1, nn.Linear) and model.fc1.in_features == 64


def test_torchinfo_summary_matches_the_seed_table():
    table = summary("net6")
    assert table.total_params == 17_022
    assert "17,022" in str(table)


def test_the_summary_states_mult_adds_as_a_count_of_about_a_million():
    """torchinfo's own label would read "Total mult-adds (Units.MEGABYTES): 1.06", a count in a unit of
    bytes. The count it prints is close to the convolutions' multiply-adds counted by hand:
    k·k·c_in·c_out per output pixel (torchinfo adds the biases and BatchNorm's scales)."""
    table = summary("net6")
    assert f"Total mult-adds: {table.total_mult_adds:,}" in str(table) and "MEGABYTES" not in str(table)
    convs = [m for m in build_model("net6").layers if isinstance(m, nn.Conv2d)]
    sizes = [26, 24, 10, 8, 2]  # each conv's output height and width (SEED_SHAPES)
    by_hand = sum(9 * c.in_channels * c.out_channels * n * n for c, n in zip(convs, sizes, strict=True))
    assert by_hand == 1_043_856 and abs(table.total_mult_adds - by_hand) / by_hand < 0.02


def spec_net6_and_hand_written(dropout: float = 0.25):
    torch.manual_seed(0)
    spec_model = build_model(dataclasses.replace(NET6, dropout=dropout))
    with torch.no_grad():  # BatchNorm's statistics away from their initial 0 and 1, so that they count
        for name, buffer in spec_model.named_buffers():
            if buffer.is_floating_point():
                buffer.uniform_(0.5, 1.5)
    plain = Net6(dropout=dropout)
    plain.load_state_dict(plain_state_dict(spec_model))  # strict: every name must match
    return spec_model, plain


def test_the_hand_written_net6_has_the_spec_models_parameter_names_and_shapes():
    spec_shapes = {name.removeprefix("layers."): p.shape for name, p in build_model("net6").named_parameters()}
    plain_shapes = {name: p.shape for name, p in Net6().named_parameters()}
    assert plain_shapes == spec_shapes and count_parameters(Net6()) == 17_022
    assert list(plain_shapes) == list(spec_shapes)  # in the same order, so optimizers see the same list
    assert [type(m).__name__ for m in Net6().children()] == ["Conv2d", "BatchNorm2d"] * 5 + ["Dropout"]


@pytest.mark.parametrize("dropout", [0.25, 0.05])
def test_the_hand_written_net6_gives_the_same_outputs_for_the_same_weights(dropout):
    spec_model, plain = spec_net6_and_hand_written(dropout)
    x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    assert torch.equal(plain.eval()(x), spec_model.eval()(x))
    torch.manual_seed(3)
    train_out = spec_model.train()(x)
    torch.manual_seed(3)  # the same dropout masks: both drop after blocks 3 and 5, in that order
    assert torch.equal(plain.train()(x), train_out)
    assert dict(plain.state_dict()).keys() == plain_state_dict(spec_model).keys()


def test_the_hand_written_net6_differs_where_the_weights_differ():
    spec_model, plain = spec_net6_and_hand_written()
    with torch.no_grad():
        plain.conv4.weight[0, 0, 0, 0] += 1.0
    x = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    assert not torch.allclose(plain.eval()(x), spec_model.eval()(x))


def test_block_order_is_conv_relu_batchnorm_and_dropout_where_published():
    kinds = [type(m).__name__ for m in build_model("net6").layers]
    assert kinds == [
        "Conv2d", "ReLU", "BatchNorm2d",
        "Conv2d", "ReLU", "BatchNorm2d", "MaxPool2d",
        "Conv2d", "ReLU", "BatchNorm2d", "Dropout",
        "Conv2d", "ReLU", "BatchNorm2d", "MaxPool2d",
        "Conv2d", "ReLU", "BatchNorm2d", "Dropout",
        "AvgPool2d",
    ]  # fmt: skip
    assert all(m.p == 0.25 for m in build_model("net6").layers if isinstance(m, nn.Dropout))


@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_builds_and_gives_log_probabilities(name):
    model = build_model(name).eval()
    out = model(torch.randn(3, 1, 28, 28))
    assert out.shape == (3, 10)
    torch.testing.assert_close(out.exp().sum(1), torch.ones(3))
    assert count_used_parameters(model) < 20_000


def test_ablations_are_one_field_changes_of_net6():
    assert VARIANTS["net6"] is NET6
    assert VARIANTS["net6-no-dropout"] == dataclasses.replace(NET6, dropout=0.0)
    before = [type(m).__name__ for m in build_model("net6-bn-before-relu").layers][:3]
    assert before == ["Conv2d", "BatchNorm2d", "ReLU"]
    assert not any(isinstance(m, nn.BatchNorm2d) for m in build_model("net6-no-bn").modules())
    assert isinstance(build_model("net6-fc-head").layers[-1], nn.Linear)
    transition = build_model("net6-transition").layers.conv4_1x1
    assert transition.kernel_size == (1, 1) and transition.out_channels == 16


def test_unknown_variant_lists_the_choices():
    with pytest.raises(ValueError, match="net6-no-dropout"):
        get_spec("net7")


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(channels=(4, 8, 24, 48, 16)), "GAP head needs 10 channels"),
        (dict(pool_after=(0, 1, 2, 3)), "shrinks below"),
        (dict(dropout_after=(7,)), "must lie in"),
        (dict(batchnorm="sometimes"), "choose from"),
        (dict(dropout=1.0), "dropout"),
    ],
)
def test_impossible_specs_are_refused_with_a_reason(change, message):
    with pytest.raises(ValueError, match=message):
        build_model(dataclasses.replace(NET6, **change))


def test_layer_shapes_leaves_the_training_mode_alone():
    model = build_model("net6").train()
    layer_shapes(model)
    assert model.training


def test_parameters_by_layer_add_up_and_name_the_unused_linear():
    model = build_model("net6-original")
    by_layer = parameters_by_layer(model)
    assert sum(by_layer.values()) == count_parameters(model) == 17_672
    assert by_layer["conv5"] == 48 * 10 * 3 * 3 + 10 and by_layer["fc1"] == 64 * 10 + 10


def test_a_spec_as_text_is_python_that_builds_the_same_spec():
    assert NetSpec  # the name eval() below needs
    for name in ("net6", "small-squeeze"):
        text = spec_text(name)
        assert eval(text) == get_spec(name) and max(map(len, text.splitlines())) < 60


def test_parameters_table_orders_layers_by_block_and_marks_missing_ones():
    table = parameters_table({"deep": "small-deep", "net6": "net6"})
    assert list(table.index[:6]) == ["conv1", "bn1", "conv2", "bn2", "conv2_1x1", "bn2_1x1"]
    assert table.loc["conv2_1x1", "deep"] == 136 and table["net6"].isna().sum() == 4
    assert table["net6"].sum() == 17_022
