"""The training loop as a student writes it: one epoch of training, one pass of evaluation.

This is the loop of pytorch/examples' MNIST example, the code the training chapter
shows: clear the gradients, run the model, take the negative log-likelihood of its
log-probabilities, backpropagate, step. The engine (s6lib.mnist.engine) runs the same step
with its sums kept on the device and bf16 where the hardware has it;
tests/test_loop.py proves one step of each leaves the same weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def train_epoch(model, loader, optimizer, scheduler=None, device="cpu"):
    """One pass over the training batches: (mean loss, percent right)."""
    model.train()  # dropout on; BatchNorm normalises with batch statistics
    total_loss, right, seen = 0.0, 0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()  # clear the last step's gradients
        log_probs = model(images)  # forward pass: (batch, 10)
        loss = F.nll_loss(log_probs, labels)  # mean of -log p(label)
        loss.backward()  # backpropagation: d(loss)/d(weight)
        optimizer.step()  # move every weight against its gradient
        if scheduler is not None:
            scheduler.step()  # one-cycle: a new learning rate per batch
        total_loss += loss.item() * len(labels)
        right += (log_probs.argmax(dim=1) == labels).sum().item()
        seen += len(labels)
    return total_loss / seen, 100 * right / seen


@torch.no_grad()  # no gradients needed: nothing is learned here
def evaluate(model, loader, device="cpu"):
    """Loss and accuracy on images the model does not learn from."""
    model.eval()  # dropout off; BatchNorm uses its running averages
    total_loss, right, seen = 0.0, 0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        log_probs = model(images)
        loss = F.nll_loss(log_probs, labels, reduction="sum")
        total_loss += loss.item()
        right += (log_probs.argmax(dim=1) == labels).sum().item()
        seen += len(labels)
    return total_loss / seen, 100 * right / seen
