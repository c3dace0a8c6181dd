"""Train Net6 on MNIST with the fast recipe: one self-contained script to run and hand in.

In the spirit of PyTorch's own MNIST example (pytorch/examples, mnist/main.py). It needs only
torch and torchvision, and runs as it stands on a laptop, a GPU machine or Colab:

    python train_net6.py                        # 15 epochs, seed 1, MNIST downloaded to ./data
    python train_net6.py --seed 2 --record seed2.json --save-model net6-seed2.pt
    python train_net6.py --limit 512 --epochs 1  # a quick check on 512 images

The recipe (the book's "fast" recipe): Net6 with dropout 0.05, random rotations, zooms and small
changes of brightness and contrast, SGD with Nesterov momentum and weight decay, and a one-cycle
learning rate that rises to its peak over the first 20% of the steps and then anneals to almost zero.
"""

import argparse
import json
import os
import platform
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torch.optim.lr_scheduler import OneCycleLR
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

MEAN, STD = 0.1307, 0.3081  # mean and standard deviation of MNIST's training pixels, in [0, 1]


class Net6(nn.Module):
    """Five 3×3 convolutions, each followed by ReLU and BatchNorm; two max-pools; global average pooling."""

    def __init__(self, dropout=0.05):
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
        x = F.avg_pool2d(x, 2)             # global average pooling: ten scores
        return F.log_softmax(x.flatten(1), dim=1)


# The training images' augmentation, drawn afresh for every image in every epoch.
train_transform = transforms.Compose([
    transforms.RandomApply([transforms.CenterCrop(22)], p=0.1),  # one image in ten: zoom in on the middle 22×22 ...
    transforms.Resize((28, 28)),                                 # ... and scale it back to 28×28
    transforms.RandomRotation((-20, 20), fill=0),                # rotate by up to ±20°
    # ±5% brightness and contrast (saturation and hue would do nothing to a grey image)
    transforms.ColorJitter(brightness=0.05, contrast=0.05),
    transforms.RandomAffine(degrees=5),                          # a second small rotation, up to ±5°
    transforms.ToTensor(),                                       # pixels to [0, 1], shape (1, 28, 28)
    transforms.Normalize((MEAN,), (STD,)),                       # mean 0, standard deviation 1
])
test_transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])


def train(model, device, loader, optimizer, scheduler):
    """One epoch: (mean loss, accuracy in %) over the training images, as the model saw them."""
    model.train()  # dropout on; BatchNorm normalises with each batch's statistics
    total_loss, correct, seen = 0.0, 0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        output = model(images)
        loss = F.nll_loss(output, labels)
        loss.backward()
        optimizer.step()
        scheduler.step()  # one-cycle: a new learning rate after every batch
        total_loss += loss.item() * len(labels)
        correct += (output.argmax(dim=1) == labels).sum().item()
        seen += len(labels)
    return total_loss / seen, 100.0 * correct / seen


@torch.no_grad()
def test(model, device, loader):
    """(mean loss, accuracy in %, images right) on the test images."""
    model.eval()  # dropout off; BatchNorm uses its running averages
    total_loss, correct = 0.0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        output = model(images)
        total_loss += F.nll_loss(output, labels, reduction="sum").item()
        correct += (output.argmax(dim=1) == labels).sum().item()
    n = len(loader.dataset)
    return total_loss / n, 100.0 * correct / n, correct


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Train Net6 on MNIST with the fast recipe.")
    parser.add_argument("--epochs", type=int, default=15, help="passes over the training images (default: 15)")
    parser.add_argument("--batch-size", type=int, default=128, help="images per training step (default: 128)")
    parser.add_argument("--test-batch-size", type=int, default=2048, help="images per test batch (default: 2048)")
    parser.add_argument("--lr", type=float, default=0.05, help="peak learning rate of the cycle (default: 0.05)")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default: 0.9)")
    parser.add_argument("--weight-decay", type=float, default=5e-4, help="SGD weight decay (default: 5e-4)")
    parser.add_argument("--pct-start", type=float, default=0.2,
                        help="share of the steps spent raising the learning rate (default: 0.2)")
    parser.add_argument("--dropout", type=float, default=0.05, help="dropout probability (default: 0.05)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, mps, or auto: the fastest there is (default)")
    parser.add_argument("--data-dir", default=os.environ.get("S6_DATA_DIR") or "./data",
                        help="folder for MNIST (default: $S6_DATA_DIR, else ./data)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N training and N test images (a quick check)")
    parser.add_argument("--workers", type=int, default=2, help="processes that augment images (default: 2)")
    parser.add_argument("--save-model", nargs="?", const="net6.pt", default=None, metavar="PATH",
                        help="save the trained weights (default PATH: net6.pt)")
    parser.add_argument("--record", default=None, metavar="PATH",
                        help="write the settings and each epoch's test accuracy and loss as JSON")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "test_batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.lr <= 0:
        parser.error("--lr must be positive")
    if not 0 < args.pct_start < 1:
        parser.error("--pct-start must be between 0 and 1")
    if not 0 <= args.dropout < 1:
        parser.error("--dropout must be in [0, 1)")
    if args.workers < 0:
        parser.error("--workers must be 0 or more")
    return args


def pick_device(name):
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def load_mnist(root, limit):
    try:
        train_set = datasets.MNIST(root, train=True, download=True, transform=train_transform)
        test_set = datasets.MNIST(root, train=False, download=True, transform=test_transform)
    except (RuntimeError, OSError) as err:  # no network, or a folder that cannot be written
        sys.exit(f"MNIST could not be loaded from {os.path.abspath(root)}: {err}\n"
                 f"Without a network, point --data-dir (or S6_DATA_DIR) at a folder whose MNIST/raw holds the "
                 f"four MNIST files, uncompressed (gunzip -k).")
    if limit is not None:
        train_set = Subset(train_set, range(min(limit, len(train_set))))
        test_set = Subset(test_set, range(min(limit, len(test_set))))
    return train_set, test_set


def main(argv=None):
    args = parse_args(argv)
    try:
        device = pick_device(args.device)
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError) as err:
        sys.exit(f"--device {args.device} cannot be used here: {err}")
    torch.manual_seed(args.seed)  # the initial weights and the dropout masks
    print(f"Device: {device}")

    train_set, test_set = load_mnist(args.data_dir, args.limit)
    common = dict(num_workers=args.workers, pin_memory=device.type == "cuda")
    # The last, incomplete batch is dropped, as the book's runs do: every step sees a full batch.
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                              drop_last=len(train_set) >= args.batch_size,
                              generator=torch.Generator().manual_seed(args.seed), **common)
    test_loader = DataLoader(test_set, batch_size=args.test_batch_size, shuffle=False, **common)

    model = Net6(dropout=args.dropout).to(device)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"Net6: {parameters:,} parameters; {len(train_set):,} training and {len(test_set):,} test images")
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                                nesterov=True, weight_decay=args.weight_decay)
    # cycle_momentum=False: only the learning rate cycles; the momentum stays at --momentum
    scheduler = OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(train_loader),
                           pct_start=args.pct_start, cycle_momentum=False)

    epochs = []
    start = time.time()
    for epoch in range(1, args.epochs + 1):
        train_loss, train_acc = train(model, device, train_loader, optimizer, scheduler)
        test_loss, test_acc, correct = test(model, device, test_loader)
        epochs.append({"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc,
                       "test_loss": test_loss, "test_acc": test_acc, "test_correct": correct,
                       "seconds": time.time() - start})
        print(f"Epoch {epoch:2d}: train loss {train_loss:.4f}, accuracy {train_acc:.2f}% | "
              f"test loss {test_loss:.4f}, accuracy {correct}/{len(test_set)} ({test_acc:.2f}%) | "
              f"{epochs[-1]['seconds'] / 60:.1f} min so far")

    if args.save_model:
        torch.save(model.state_dict(), args.save_model)
        print(f"Weights saved to {args.save_model}")
    if args.record:
        record = {
            "script": os.path.basename(__file__),
            "settings": {k: v for k, v in vars(args).items() if k not in ("data_dir", "save_model", "record")},
            "train_images": len(train_set),
            "test_images": len(test_set),
            "parameters": parameters,
            "device": str(device),
            "versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "torchvision": torchvision.__version__},
            "epochs": epochs,
        }
        with open(args.record, "w") as f:
            json.dump(record, f, indent=1)
        print(f"Record written to {args.record}")


if __name__ == "__main__":
    main()
