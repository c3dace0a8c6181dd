"""MNIST: where it lives, and the two training pipelines.

One setting finds the data: the environment variable S6_DATA_DIR (default
~/.cache/s6lib/data), a folder in torchvision's layout, <root>/MNIST/raw/. On a
networked machine torchvision downloads the files there. An offline machine
points S6_DATA_DIR at a copy; if that copy holds .gz files, they are
decompressed into the default cache and the copy is left untouched (it is often
read-only, and a root user's write test would not tell). Every file's MD5 is
checked against the published one.

Pipeline A is the seed's: torchvision transforms on PIL images in a DataLoader.
Pipeline B keeps the whole set as one uint8 tensor on the training device and
augments each batch there with per-sample random parameters in a few batched
ops; it has no DataLoader and no per-image Python.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

from ..lab.records import atomic_file
from .recipes import VALIDATION_SPLITS, Augment, ConfigError, Recipe

ENV_VAR = "S6_DATA_DIR"
MEAN, STD = 0.1307, 0.3081  # of the MNIST training pixels in [0, 1]: the seed's Normalize
IMAGE_SIZE = 28
# MD5 of each uncompressed raw file, as published (see the data README).
RAW_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


class DataError(RuntimeError):
    """MNIST cannot be found, fetched or trusted; the message says what to do."""


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "s6lib" / "data"


def data_root() -> Path:
    """The folder named by S6_DATA_DIR, else the default cache."""
    return Path(os.environ[ENV_VAR]).expanduser() if os.environ.get(ENV_VAR) else cache_root()


def prepare_mnist(root: str | Path | None = None, download: bool = True) -> Path:
    """Return a root whose MNIST/raw/ holds the four uncompressed files, MD5-checked.

    Uses `root` (default: `data_root()`) as it is when it holds the uncompressed
    files; decompresses .gz files into `cache_root()`; else downloads with
    torchvision when `download`.
    """
    root = Path(root).expanduser() if root else data_root()
    raw = root / "MNIST" / "raw"
    found = {name: _find(raw, name) for name in RAW_MD5}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        if not download:
            raise DataError(_missing_message(raw, missing, "downloading is off"))
        _download(root, raw, missing)
        return _verified(root)
    if all(path.suffix != ".gz" for path in found.values()):
        return _verified(root)
    for name, source in found.items():
        _materialize(source, cache_root() / "MNIST" / "raw" / name)
    return _verified(cache_root())


def _find(raw: Path, name: str) -> Path | None:
    for path in (raw / name, raw / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def _missing_message(raw: Path, missing: list[str], why: str) -> str:
    return (
        f"MNIST not found: {raw} lacks {', '.join(missing)} (.gz or uncompressed), and {why}. "
        f"Set {ENV_VAR} to a folder that holds MNIST/raw/ with the four MNIST files "
        f"(now {ENV_VAR}={os.environ.get(ENV_VAR, '<unset>')}), or run once on a machine with "
        f"network access so that torchvision downloads them there."
    )


def _download(root: Path, raw: Path, missing: list[str]) -> None:
    try:
        datasets.MNIST(root, download=True)
    except (RuntimeError, OSError) as err:  # URLError is an OSError; torchvision wraps failed mirrors in RuntimeError
        reason = " ".join(str(err).split())[:300] or type(err).__name__
        raise DataError(_missing_message(raw, missing, f"the download failed ({reason})")) from None


def _materialize(source: Path, dest: Path) -> None:
    """Put the uncompressed content of `source` at `dest` (unless already there), atomically."""
    if dest.is_file():
        return
    opener = gzip.open if source.suffix == ".gz" else open
    try:
        with atomic_file(dest, "wb") as out, opener(source, "rb") as src:
            shutil.copyfileobj(src, out)
            if out.tell() == 0:  # gzip reads an empty file as an empty archive: name the file at fault
                raise EOFError("it holds nothing")
    except (OSError, EOFError) as err:  # gzip.BadGzipFile is an OSError
        raise DataError(f"cannot decompress {source} into {dest.parent}: {err}. Replace the file with a good "
                        "copy, or make the folder writable (or decompress the files where they are: "
                        "gunzip -k).") from None


_verified_files: set[tuple[str, int, int]] = set()  # (path, size, mtime): files already hashed in this process


def _verified(root: Path) -> Path:
    for name, expected in RAW_MD5.items():
        path = root / "MNIST" / "raw" / name
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if key in _verified_files:
            continue
        actual = _md5(path)
        if actual != expected:
            raise DataError(
                f"MNIST file {path} is corrupt: md5 {actual}, expected {expected}. "
                f"Delete it so that it is decompressed or downloaded again, or point {ENV_VAR} at a good copy."
            )
        _verified_files.add(key)
    return root


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mnist(train: bool, root: str | Path | None = None, transform=None, download: bool = True) -> datasets.MNIST:
    """torchvision's MNIST dataset from a prepared, verified root."""
    return datasets.MNIST(prepare_mnist(root, download), train=train, transform=transform)


def mnist_tensors(train: bool, root: str | Path | None = None, limit: int | None = None):
    """(images uint8 [N, 1, 28, 28], labels int64 [N]) on the CPU: the first `limit` images."""
    ds = mnist(train, root)
    return ds.data[:limit].unsqueeze(1), ds.targets[:limit]


def validation_indices(labels: torch.Tensor, split: str) -> torch.Tensor:
    """The sorted indices of the training images that `split` (a name in VALIDATION_SPLITS) holds out.

    Class-balanced: the same number of images of each digit, drawn for each class in turn (0 to 9)
    by one torch generator with the split's seed, as the first entries of a random permutation of
    that class's indices. Made by code from the MD5-checked labels, so every machine holds out the
    same images; nothing is stored.
    """
    if split not in VALIDATION_SPLITS:
        raise ConfigError(f"unknown validation split {split!r}; choose from: {', '.join(VALIDATION_SPLITS)}")
    per_class, seed = VALIDATION_SPLITS[split]
    generator = torch.Generator().manual_seed(seed)
    held = []
    for digit in range(10):
        members = (labels == digit).nonzero().flatten()
        if len(members) < per_class:
            raise ConfigError(f"split {split!r} holds out {per_class} images of digit {digit}, "
                              f"but only {len(members)} are there (a --limit-train too small for it)")
        held.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(held).sort().values


def split_indices(labels: torch.Tensor, split: str | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(indices to train on, indices to validate on or None): all images when `split` is None."""
    if split is None:
        return torch.arange(len(labels)), None
    held = validation_indices(labels, split)
    keep = torch.ones(len(labels), dtype=torch.bool)
    keep[held] = False
    return keep.nonzero().flatten(), held


# --- Pipeline A: the seed's torchvision transforms ---------------------------------


def _to_tensor(normalize: bool) -> list:
    return [transforms.ToTensor()] + ([transforms.Normalize((MEAN,), (STD,))] if normalize else [])


def train_transform(aug: Augment, normalize: bool = True) -> transforms.Compose:
    """The seed's training transforms, in its order."""
    resample = transforms.InterpolationMode(aug.interpolation)
    return transforms.Compose(
        [
            transforms.RandomApply([transforms.CenterCrop(aug.crop_size)], p=aug.crop_prob),
            transforms.Resize((IMAGE_SIZE, IMAGE_SIZE)),
            transforms.RandomRotation((-aug.rotation, aug.rotation), interpolation=resample, fill=0),
            transforms.ColorJitter(aug.brightness, aug.contrast, aug.saturation, aug.hue),
            transforms.RandomAffine(aug.affine_degrees, translate=(aug.translate,) * 2 if aug.translate else None,
                                    interpolation=resample),
            *_to_tensor(normalize),
        ]
    )


def test_transform(normalize: bool = True) -> transforms.Compose:
    return transforms.Compose(_to_tensor(normalize))


def dataloaders(recipe: Recipe, *, root=None, device: torch.device, seed: int,
                limit_train: int | None = None, limit_test: int | None = None, num_workers: int = 0):
    """Pipeline A: (train, evaluation) DataLoaders over the first `limit_*` images; the evaluation set
    is the recipe's validation split of the training images when it has one (`limit_test` then cuts
    it), else the test set."""
    train_set = mnist(True, root, train_transform(recipe.augment, recipe.normalize))
    if recipe.validation is None:
        train_set = _first(train_set, limit_train)
        test_set = _first(mnist(False, root, test_transform(recipe.normalize)), limit_test)
    else:
        train_idx, val_idx = split_indices(train_set.targets, recipe.validation)
        train_set = Subset(train_set, train_idx[:limit_train].tolist())
        test_set = Subset(mnist(True, root, test_transform(recipe.normalize)), val_idx[:limit_test].tolist())
    common = dict(num_workers=num_workers, pin_memory=device.type == "cuda", persistent_workers=num_workers > 0)
    shuffle = torch.Generator().manual_seed(seed)  # also seeds the workers' augmentation
    return (
        DataLoader(train_set, batch_size=recipe.batch_size, shuffle=True, generator=shuffle, **common),
        DataLoader(test_set, batch_size=recipe.test_batch_size, shuffle=False, **common),
    )


def _first(dataset, limit: int | None):
    return dataset if limit is None or limit >= len(dataset) else Subset(dataset, range(limit))


# --- Pipeline B: the data set on the device, augmented in batches -------------------


def sample_augment(n: int, aug: Augment, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Per-sample random parameters equivalent to the seed's transforms, each of shape [n].

    angle: RandomRotation plus RandomAffine's rotation (two rotations about the
    centre make one); zoom: 22/28 with probability 0.1 (CenterCrop(22) → Resize(28));
    brightness, contrast: ColorJitter's factors; shift_x, shift_y: RandomAffine's
    translation as a fraction of the image, drawn only when `translate` is set (so
    recipes without it draw the same numbers as before it existed). Saturation and
    hue do nothing to a 1-channel image, so they have no parameter here.
    """

    def uniform(low, high):
        return torch.rand(n, generator=generator, device=generator.device) * (high - low) + low

    crop = torch.rand(n, generator=generator, device=generator.device) < aug.crop_prob
    params = dict(
        angle=uniform(-aug.rotation, aug.rotation) + uniform(-aug.affine_degrees, aug.affine_degrees),
        zoom=torch.where(crop, aug.crop_size / IMAGE_SIZE, 1.0),
        brightness=uniform(1 - aug.brightness, 1 + aug.brightness),
        contrast=uniform(1 - aug.contrast, 1 + aug.contrast),
    )
    if aug.translate:
        params.update(shift_x=uniform(-aug.translate, aug.translate), shift_y=uniform(-aug.translate, aug.translate))
    return params


def apply_augment(x: torch.Tensor, params: dict[str, torch.Tensor], interpolation: str = "nearest") -> torch.Tensor:
    """Augment a float batch [n, 1, 28, 28] in [0, 1]: one resampling for the geometry, then jitter.

    One resampling replaces the seed's three (resize, rotation, affine).
    Rotations are symmetric in angle, so the sign convention does not matter.
    ColorJitter applies brightness and contrast in a random order; at ±5% the
    order makes no visible difference, so here it is always brightness first.
    """
    angle = params["angle"] * (math.pi / 180)
    zoom = params["zoom"]
    cos, sin, zero = zoom * torch.cos(angle), zoom * torch.sin(angle), torch.zeros_like(angle)
    # affine_grid's coordinates run from -1 to 1 across the image: a shift of f × 28 px is 2f there
    dx, dy = (2 * params[k] if k in params else zero for k in ("shift_x", "shift_y"))
    theta = torch.stack([torch.stack([cos, -sin, dx], 1), torch.stack([sin, cos, dy], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode=interpolation, padding_mode="zeros", align_corners=False)
    x = (x * params["brightness"].view(-1, 1, 1, 1)).clamp_(0, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * params["contrast"].view(-1, 1, 1, 1) + mean).clamp_(0, 1)


def normalize(x: torch.Tensor) -> torch.Tensor:
    return (x - MEAN) / STD


class DeviceLoader:
    """Batches from uint8 images held on the device; augmented on the device when `augment` is given.

    Training loaders drop the last partial batch, so every step has the same
    shapes (a CUDA graph needs them); a new random order each epoch means no
    image is left out for good.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, *, device: torch.device,
                 augment: Augment | None = None, shuffle: bool = False, drop_last: bool = False, seed: int = 0,
                 normalize: bool = True):
        self.images = images.to(device)
        self.normalize = normalize
        self.labels = labels.to(device)
        self.batch_size = batch_size
        self.augment = augment
        self.shuffle = shuffle
        self.drop_last = drop_last and len(labels) >= batch_size  # a tiny subset still gives one batch
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def __len__(self) -> int:
        n, b = len(self.labels), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self):
        order = self.permutation() if self.shuffle else None
        for i in range(len(self)):
            batch = slice(i * self.batch_size, (i + 1) * self.batch_size)
            yield self.batch(order[batch] if order is not None else batch)

    def permutation(self) -> torch.Tensor:
        """A new random order of all images: one epoch's."""
        return torch.randperm(len(self.labels), generator=self.generator, device=self.labels.device)

    def batch(self, index) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, labels) of the images at `index` (a slice or a tensor of indices), augmented
        and normalized. No host sync, so a CUDA graph can hold it (s6lib.mnist.graph)."""
        x = self.images[index].float().div_(255)
        if self.augment is not None:
            params = sample_augment(len(x), self.augment, self.generator)
            x = apply_augment(x, params, self.augment.interpolation)
        return (normalize(x) if self.normalize else x), self.labels[index]


def device_loaders(recipe: Recipe, *, root=None, device: torch.device, seed: int,
                   limit_train: int | None = None, limit_test: int | None = None):
    """Pipeline B: (train, evaluation) DeviceLoaders over the first `limit_*` images; the evaluation set
    is the recipe's validation split of the training images when it has one, else the test set."""
    if recipe.validation is None:
        images, labels = mnist_tensors(True, root, limit_train)
        evaluation = mnist_tensors(False, root, limit_test)
    else:  # the split is drawn from all 60,000 images; the limits then cut each side
        images, labels = mnist_tensors(True, root)
        train_idx, val_idx = split_indices(labels, recipe.validation)
        evaluation = images[val_idx[:limit_test]], labels[val_idx[:limit_test]]
        images, labels = images[train_idx[:limit_train]], labels[train_idx[:limit_train]]
    return (
        DeviceLoader(images, labels, recipe.batch_size, device=device,
                     augment=recipe.augment, shuffle=True, drop_last=True, seed=seed, normalize=recipe.normalize),
        DeviceLoader(*evaluation, recipe.test_batch_size, device=device, normalize=recipe.normalize),
    )


def loaders(recipe: Recipe, *, root=None, device: torch.device, seed: int,
            limit_train: int | None = None, limit_test: int | None = None, num_workers: int = 0):
    """(train, evaluation) loaders of the recipe's pipeline: evaluation on its validation split, or the test set."""
    if recipe.pipeline == "A":
        return dataloaders(recipe, root=root, device=device, seed=seed, limit_train=limit_train,
                           limit_test=limit_test, num_workers=num_workers)
    return device_loaders(recipe, root=root, device=device, seed=seed, limit_train=limit_train,
                          limit_test=limit_test)
