"""The hidden tests' measurements for the sub-20k network assignment (shipped in the autograder only).

Everything is measured on the student's own class and files, on the CPU, with torch and NumPy alone
(no s6lib), so that the same code grades here, in CI and in Gradescope's image:

- the receptive field of the last convolution, measured with autograd (the rule's answer, which the
  student gives, must agree with it);
- whether every pixel of the image can change the output;
- the run record (per-epoch test accuracy) and the checkpoint (a state_dict), validated;
- the accuracy of the checkpoint on the 10,000 MNIST test images, measured once per checkpoint.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import math
import os
from pathlib import Path
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

IMAGE_SIZE = 28
MEAN, STD = 0.1307, 0.3081  # the normalisation the notebook's training uses (the book's)
PARAMETER_LIMIT = 20_000
TARGET_ACCURACY = 99.4  # percent: full marks
PARTIAL_ACCURACY = 99.0  # percent: the partial mark
# The record's final accuracy and the grader's may differ by a few images (another device, another
# batch size); 0.05 points is 5 of the 10,000 test images.
CLAIM_TOLERANCE = 0.05
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class GradingError(ValueError):
    """A submission's file that cannot be graded; the message says why."""


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _max_pool_as_average(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                         return_indices=False):
    """A max-pool passes gradient to one pixel of each window, an average pool to all of them:
    measured through an average pool, the gradient's footprint is the whole receptive field."""
    if return_indices or dilation not in (1, (1, 1)):
        raise GradingError("the receptive field is measured for max-pools without indices or dilation")
    return F.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad=True)


def _positive_network(model_class: type[nn.Module]) -> nn.Module:
    """A fresh instance in float64, eval mode, with every weight positive (scaled by its fan-in so that
    activations stay near 1) and every bias zero: no path from a pixel can then cancel or be cut by a
    ReLU, so a non-zero gradient marks exactly the pixels a unit depends on."""
    generator = torch.Generator().manual_seed(0)
    net = model_class().double().eval()
    with torch.no_grad():
        for name, parameter in net.named_parameters():
            if name.endswith("bias"):
                parameter.zero_()
            else:
                fan_in = parameter[0].numel() if parameter.dim() > 1 else 1
                parameter.copy_((torch.rand(parameter.shape, generator=generator, dtype=torch.float64) + 0.5) / fan_in)
        for module in net.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
    return net


@functools.lru_cache(maxsize=8)
def receptive_field(model_class: type[nn.Module]) -> dict[str, int | bool]:
    """The receptive field of the last convolution's middle unit, measured: `size` (input pixels, the
    larger of height and width), `at_border` (the patch reaches the image's edge, so a rule's larger
    number is cut by the image), and `whole_image` (every pixel can change the output)."""
    net = _positive_network(model_class)
    conv_outputs = []
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            module.register_forward_hook(lambda _module, _input, output: conv_outputs.append(output))
    image = (torch.rand(1, 1, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.float64) + 0.5).requires_grad_()
    with mock.patch.object(F, "max_pool2d", _max_pool_as_average):
        output = net(image)
    if not conv_outputs:
        raise GradingError("the network has no nn.Conv2d layer")
    last = conv_outputs[-1]
    unit = last[0, 0, last.shape[2] // 2, last.shape[3] // 2]
    (unit_gradient,) = torch.autograd.grad(unit, image, retain_graph=True)
    rows = unit_gradient[0, 0].abs().sum(dim=1).nonzero().flatten()
    cols = unit_gradient[0, 0].abs().sum(dim=0).nonzero().flatten()
    (output_gradient,) = torch.autograd.grad(output.flatten()[0], image)
    return {
        "size": int(max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)),
        "at_border": bool(min(rows.min(), cols.min()) == 0 or max(rows.max(), cols.max()) == IMAGE_SIZE - 1),
        "whole_image": bool((output_gradient != 0).all()),
    }


def receptive_field_agrees(model_class: type[nn.Module], claimed) -> bool:
    """The student's number by the rule against the measured one; where the measured patch reaches
    the image's edge the rule's may be larger (the image cuts it)."""
    if isinstance(claimed, bool) or not isinstance(claimed, (int, np.integer)):
        return False
    measured = receptive_field(model_class)
    return claimed == measured["size"] or (measured["at_border"] and claimed > measured["size"])


def read_record(path: str | Path = "record.json") -> list[float]:
    """The per-epoch test accuracies (percent) of a run record: a JSON object whose "epochs" is a
    non-empty list of {"epoch": 1, 2, ..., "test_acc": percent}. Raises GradingError saying what is wrong."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GradingError(f"no run record {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise GradingError(f"{path} is not JSON: {error}") from None
    epochs = record.get("epochs") if isinstance(record, dict) else None
    if not isinstance(epochs, list) or not epochs:
        raise GradingError(f'{path} has no "epochs" list')
    accuracies = []
    for number, epoch in enumerate(epochs, 1):
        accuracy = epoch.get("test_acc") if isinstance(epoch, dict) else None
        if not isinstance(epoch, dict) or epoch.get("epoch") != number:
            raise GradingError(f"{path}: entry {number} of epochs is not epoch {number}")
        if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or not 0 <= accuracy <= 100:
            raise GradingError(f"{path}: epoch {number} has no test accuracy in percent")
        accuracies.append(float(accuracy))
    return accuracies


def load_checkpoint(model_class: type[nn.Module], path: str | Path = "checkpoint.pt") -> nn.Module:
    """The student's class with the checkpoint's weights (a state_dict, every key matching), in eval mode."""
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise GradingError(f"no checkpoint {path}") from None
    except Exception as error:  # torch raises several types for a file that is not a checkpoint
        raise GradingError(f"{path} is not a torch checkpoint: {error}") from None
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise GradingError(f"{path} is not a state_dict (save model.state_dict())")
    model = model_class()
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as error:
        raise GradingError(f"{path} does not fit the class: {error}") from None
    return model.eval()


def data_root() -> Path:
    """Where MNIST is: $S6_DATA_DIR, else ./data (torchvision's layout, MNIST/raw)."""
    return Path(os.environ.get("S6_DATA_DIR", "data"))


def _read_idx(name: str) -> bytes:
    raw = data_root() / "MNIST" / "raw"
    for path in (raw / name, raw / f"{name}.gz"):
        if path.exists():
            return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    raise GradingError(f"MNIST's {name} is not in {raw} (set S6_DATA_DIR)")


@functools.lru_cache(maxsize=1)
def mnist_test_set() -> tuple[torch.Tensor, torch.Tensor]:
    """The 10,000 test images, normalised as in training, and their labels."""
    images, labels = (_read_idx(name) for name in TEST_FILES)
    pixels = np.frombuffer(images, dtype=np.uint8, offset=16).reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE)
    x = (torch.from_numpy(pixels.astype(np.float32) / 255) - MEAN) / STD
    return x, torch.from_numpy(np.frombuffer(labels, dtype=np.uint8, offset=8).astype(np.int64))


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def measured_accuracy(model_class: type[nn.Module], path: str | Path = "checkpoint.pt") -> float:
    """Percent of the MNIST test images the checkpoint classifies right, on the CPU in float32."""
    return _measured_accuracy(model_class, str(path), _sha256(path))


@functools.lru_cache(maxsize=4)
def _measured_accuracy(model_class: type[nn.Module], path: str, _digest: str) -> float:
    # keyed by the file's digest: several hidden tests ask, the 10,000 images are run once
    model = load_checkpoint(model_class, path)
    x, y = mnist_test_set()
    with torch.no_grad():
        correct = sum(int((model(x[i:i + 1000]).argmax(dim=1) == y[i:i + 1000]).sum()) for i in range(0, len(y), 1000))
    return 100 * correct / len(y)


def claim_holds(model_class: type[nn.Module]) -> bool:
    """Whether the record's final test accuracy is what the checkpoint gives here."""
    return math.isclose(read_record()[-1], measured_accuracy(model_class), abs_tol=CLAIM_TOLERANCE)
