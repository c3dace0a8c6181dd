"""The hidden tests' reference for the backprop assignment (shipped in the autograder only).

The assignment's numbers and one step of gradient descent on its 2-2-2 sigmoid network, in
plain float64 NumPy, so that grading needs nothing beyond NumPy (Gradescope's image included).
tests/test_assignments.py checks these numbers against s6lib.backprop.network and the master notebook.
"""

from __future__ import annotations

import math

import numpy as np

# The network the student works on (the book uses others): the same numbers stand in the
# notebook's set-up cell, which a test keeps in step.
VALUES = {
    "i1": 0.35, "i2": 0.9, "t1": 0.1, "t2": 0.9,
    "w1": 0.9, "w2": -0.6, "w3": -0.4, "w4": 1.1,
    "w5": 0.7, "w6": -0.5, "w7": 0.3, "w8": 0.8,
}
LEARNING_RATE = 1.0
# A float64 computation of the same formulas agrees to ~1e-15; the original sheet's error in
# ∂E/∂w3 and ∂E/∂w4 moves them by ~20 %, and the loss after the update by ~6e-4 relative.
RTOL, ATOL = 1e-6, 1e-12


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _forward(v: dict[str, float]) -> dict[str, float]:
    q = {"h1": v["w1"] * v["i1"] + v["w2"] * v["i2"], "h2": v["w3"] * v["i1"] + v["w4"] * v["i2"]}
    q["a_h1"], q["a_h2"] = _sigmoid(q["h1"]), _sigmoid(q["h2"])
    q["o1"] = v["w5"] * q["a_h1"] + v["w6"] * q["a_h2"]
    q["o2"] = v["w7"] * q["a_h1"] + v["w8"] * q["a_h2"]
    q["a_o1"], q["a_o2"] = _sigmoid(q["o1"]), _sigmoid(q["o2"])
    q["E_total"] = ((q["a_o1"] - v["t1"]) ** 2 + (q["a_o2"] - v["t2"]) ** 2) / 2
    return q


def reference() -> dict[str, float | np.ndarray]:
    """Every graded quantity: the forward pass, the four deltas, the eight gradients (w1..w8),
    the weights after one update and the loss they give."""
    v = VALUES
    q = _forward(v)
    q["delta_o1"] = (q["a_o1"] - v["t1"]) * q["a_o1"] * (1 - q["a_o1"])
    q["delta_o2"] = (q["a_o2"] - v["t2"]) * q["a_o2"] * (1 - q["a_o2"])
    q["delta_h1"] = (q["delta_o1"] * v["w5"] + q["delta_o2"] * v["w7"]) * q["a_h1"] * (1 - q["a_h1"])
    q["delta_h2"] = (q["delta_o1"] * v["w6"] + q["delta_o2"] * v["w8"]) * q["a_h2"] * (1 - q["a_h2"])
    q["gradients"] = np.array([
        q["delta_h1"] * v["i1"], q["delta_h1"] * v["i2"], q["delta_h2"] * v["i1"], q["delta_h2"] * v["i2"],
        q["delta_o1"] * q["a_h1"], q["delta_o1"] * q["a_h2"], q["delta_o2"] * q["a_h1"], q["delta_o2"] * q["a_h2"],
    ])
    weights = np.array([v[f"w{k}"] for k in range(1, 9)])
    q["new_weights"] = weights - LEARNING_RATE * q["gradients"]
    q["E_total_after"] = _forward(v | {f"w{k}": float(w) for k, w in enumerate(q["new_weights"], 1)})["E_total"]
    return q


def agrees(answer, name: str, *, index=Ellipsis) -> bool:
    """Whether the student's `answer` is the reference value of `name` (elements `index` of an
    array) to RTOL: a finite number, or array of the reference's shape."""
    expected = np.asarray(reference()[name], dtype=np.float64)[index]
    try:
        got = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if got.shape != np.asarray(reference()[name]).shape:
        return False
    return bool(np.all(np.isfinite(got)) and np.allclose(got[index], expected, rtol=RTOL, atol=ATOL))
