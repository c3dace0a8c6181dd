"""Part 1's numeric answers recomputed without the library: plain NumPy for the network (matrices,
no SymPy), torch autograd for the gradients, finite differences for the curvature. The oracle that
tests/test_part1_exercises.py and the browser tests hold the pages and the answer boxes to."""

import json
import re

import numpy as np

from s6lib.backprop.answers import PREDICTED_RATE
from s6lib.backprop.large_rates import LONG_RUN, THRESHOLD
from s6lib.backprop.network import CLASS_VALUES, MAZUR_LEARNING_RATE, MAZUR_VALUES

from conftest import ROOT

CHAPTERS = ["forward_pass", "partial_derivatives", "backprop_table", "learning_rates"]


# --- the network again, in NumPy: W1 maps the inputs to the hidden sums, W2 the hidden activations
# to the output sums; one bias per layer, as Mazur's.

def _arrays(v):
    W1 = np.array([[v["w1"], v["w2"]], [v["w3"], v["w4"]]])
    W2 = np.array([[v["w5"], v["w6"]], [v["w7"], v["w8"]]])
    return W1, W2, np.array([v["i1"], v["i2"]]), np.array([v["t1"], v["t2"]]), v.get("b1", 0.0), v.get("b2", 0.0)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _pass(v):
    """Forward and backward: activations, error, the gradients of W1, W2 and the biases."""
    W1, W2, x, t, b1, b2 = _arrays(v)
    a_h = _sigmoid(W1 @ x + b1)
    a_o = _sigmoid(W2 @ a_h + b2)
    error = 0.5 * np.sum((a_o - t) ** 2)
    d_o = (a_o - t) * a_o * (1 - a_o)
    d_h = (W2.T @ d_o) * a_h * (1 - a_h)
    return {"a_h": a_h, "a_o": a_o, "E": error, "h": W1 @ x + b1, "gW1": np.outer(d_h, x), "gW2": np.outer(d_o, a_h),
            "gb1": d_h.sum(), "gb2": d_o.sum(), "d_o": d_o}


def _step(v, eta):
    p = _pass(v)
    g = {**dict(zip(("w1", "w2", "w3", "w4"), p["gW1"].ravel())),
         **dict(zip(("w5", "w6", "w7", "w8"), p["gW2"].ravel()))}
    return {**v, **{w: v[w] - eta * g[w] for w in g}}


def _curve(v, eta, steps):
    errors = []
    for _ in range(steps):
        errors.append(_pass(v)["E"])
        v = _step(v, eta)
    return errors


def _updates_below(curve, threshold):
    return next(k for k, e in enumerate(curve) if e < threshold)


def _autograd_w6_at_step2():
    import torch

    v = _step(dict(CLASS_VALUES), 0.5)
    W1, W2, x, t, _, _ = (torch.tensor(a, dtype=torch.float64) if isinstance(a, np.ndarray) else a
                          for a in _arrays(v))
    W2.requires_grad_()
    out = torch.sigmoid(W2 @ torch.sigmoid(W1 @ x))
    (0.5 * ((out - t) ** 2).sum()).backward()
    return W2.grad[0, 1].item()


def _sharpness_by_finite_differences(v, eps=1e-5):
    names = [f"w{k}" for k in range(1, 9)]

    def grad(vals):
        p = _pass(vals)
        return np.concatenate([p["gW1"].ravel(), p["gW2"].ravel()])

    hessian = np.zeros((8, 8))
    for k, name in enumerate(names):
        up, down = dict(v), dict(v)
        up[name] += eps
        down[name] -= eps
        hessian[:, k] = (grad(up) - grad(down)) / (2 * eps)
    return np.linalg.eigvalsh((hessian + hessian.T) / 2).max()


def _after(v, eta, updates):
    for _ in range(updates):
        v = _step(v, eta)
    return v


INDEPENDENT = {
    "ex-forward-pass-swapped": lambda: _pass(dict(CLASS_VALUES, i1=0.1, i2=0.05))["a_h"][0],
    "ex-forward-pass-output": lambda: _pass(dict(CLASS_VALUES, i1=0.1, i2=0.05))["E"],
    "ex-forward-pass-sigmoid-line": lambda: _pass(CLASS_VALUES)["a_h"][0] - (0.5 + _pass(CLASS_VALUES)["h"][0] / 4),
    "ex-forward-pass-mazur": lambda: _pass(MAZUR_VALUES)["a_o"][0],
    "ex-partial-derivatives-w6": _autograd_w6_at_step2,
    "ex-partial-derivatives-ratio": lambda: _pass(CLASS_VALUES)["gW2"][0, 0] / _pass(CLASS_VALUES)["gW1"][0, 0],
    "ex-partial-derivatives-sign": lambda: _pass(dict(CLASS_VALUES, t1=0.01))["d_o"][0],
    "ex-partial-derivatives-eta1": lambda: _pass(_step(dict(CLASS_VALUES), 1.0))["E"],
    "ex-partial-derivatives-bias": lambda: MAZUR_VALUES["b2"] - MAZUR_LEARNING_RATE * _pass(MAZUR_VALUES)["gb2"],
    "ex-backprop-table-row": lambda: _after(dict(CLASS_VALUES), 0.5, 2)["w5"],
    "ex-backprop-table-broken": lambda: _pass(CLASS_VALUES)["d_o"][0] * _pass(CLASS_VALUES)["a_h"][0],
    # step 1 is the start
    "ex-backprop-table-half": lambda: _updates_below(c := _curve(dict(CLASS_VALUES), 0.5, 80), c[0] / 2) + 1,
    "ex-backprop-table-eta1": lambda: _curve(dict(CLASS_VALUES), 1.0, 80)[-1],
    "ex-learning-rates-predict": lambda: _updates_below(_curve(dict(CLASS_VALUES), PREDICTED_RATE, LONG_RUN),
                                                        THRESHOLD),
    "ex-learning-rates-limit": lambda: 2 / _sharpness_by_finite_differences(_after(dict(CLASS_VALUES), 0.5, LONG_RUN)),
    "ex-learning-rates-first-step": lambda: _step(dict(CLASS_VALUES), 100.0)["w5"],
    "ex-learning-rates-plateau": lambda: 2 * 0.5 * 0.5 ** 2,  # each output as far from 0.5 as a sigmoid gets
}


def cells(chapter):
    return json.loads((ROOT / "book" / "backprop" / f"{chapter}.ipynb").read_text())["cells"]


def box_labels():
    """The labels of the exercises that have an answer box, in all of Part 1."""
    return {label for chapter in CHAPTERS for cell in cells(chapter) if "answer_box(" in "".join(cell["source"])
            for label in re.findall(r'answer\("([^"]+)"\)', "".join(cell["source"]))}
