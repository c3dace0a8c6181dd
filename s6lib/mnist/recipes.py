"""Named training recipes: every hyperparameter of a run, in one place.

A recipe is data (a frozen dataclass); change one with `dataclasses.replace`.
`original` is the original assignment's recipe (stored as "seed", see DISPLAY_NAMES); `fast` is ours.
`run_config` is the config a run records: the recipe, the seed and the run's limits. No torch here,
so that the plans and the records audit compute configs without loading what trains.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .specs import VARIANTS


@dataclass(frozen=True)
class Augment:
    """The original recipe's training augmentation. Pipeline A applies it with torchvision
    transforms, pipeline B with per-sample parameters on the device."""

    crop_prob: float = 0.1  # probability of RandomApply(CenterCrop(crop_size)) → Resize(28): a zoom
    crop_size: int = 22  # px, of the 28×28 image
    rotation: float = 20.0  # degrees: RandomRotation(±rotation), fill 0
    affine_degrees: float = 5.0  # degrees: RandomAffine(affine_degrees), a second rotation
    brightness: float = 0.05  # ColorJitter: factor drawn from [1 - b, 1 + b]
    contrast: float = 0.05  # ColorJitter: factor drawn from [1 - c, 1 + c]
    saturation: float = 0.05  # ColorJitter: no effect on 1-channel images (pipeline A only)
    hue: float = 0.05  # ColorJitter: no effect on 1-channel images (pipeline A only)
    interpolation: str = "nearest"  # resampling of the rotations: torchvision's default, "nearest" or "bilinear"
    translate: float = 0.0  # fraction of the image: a shift of up to ±translate × 28 px each way (RandomAffine's)


@dataclass(frozen=True)
class Recipe:
    name: str
    model: str  # a variant name in s6lib.mnist.specs.VARIANTS
    optimizer: str  # one of OPTIMIZERS
    lr: float  # learning rate; the peak of the cycle for "onecycle"
    momentum: float
    weight_decay: float  # L2 added to the gradient (SGD's weight_decay)
    nesterov: bool
    schedule: str  # one of SCHEDULES: "step" (StepLR, per epoch) or "onecycle" (OneCycleLR, per batch)
    batch_size: int  # images per training step
    test_batch_size: int  # images per evaluation batch
    epochs: int
    pipeline: str  # one of PIPELINES: "A" torchvision DataLoader, "B" device-resident
    step_size: int | None = None  # "step": epochs between lr drops
    gamma: float | None = None  # "step": lr factor at each drop
    pct_start: float | None = None  # "onecycle": fraction of all steps spent warming up
    normalize: bool = True  # inputs shifted and scaled by MNIST's mean and std (the original's Normalize)
    augment: Augment = field(default_factory=Augment)
    # training targets: 1 - ε on the label, ε spread over all 10 classes (0: plain NLL)
    label_smoothing: float = 0.0
    # a name in VALIDATION_SPLITS: train on the rest, evaluate there, never on the test set
    validation: str | None = None
    ema: float | None = None  # decay per step of an exponential moving average of the weights, which is evaluated


# Fields added after run records existed. A record's config names one only when it differs from
# this default, so every earlier record keeps its config and its fingerprint.
ADDED_LATER = {("label_smoothing",): 0.0, ("augment", "translate"): 0.0, ("validation",): None, ("ema",): None}

# Validation splits of the 60,000 training images (s6lib.mnist.data.validation_indices draws the indices):
# name -> (images held out, per class, and the seed of the generator that draws them). Choices between
# recipes are made on these; the test set is evaluated only by runs that train on all 60,000.
VALIDATION_SPLITS = {"val10k": (1_000, 20_261_201)}


def recipe_config(recipe: Recipe) -> dict:
    """The recipe as a run record's config holds it: every field, but ADDED_LATER ones only when set."""
    config = dataclasses.asdict(recipe)
    for path, default in ADDED_LATER.items():
        *parents, name = path
        holder = config
        for parent in parents:
            holder = holder[parent]
        if holder[name] == default:
            del holder[name]
    return config


OPTIMIZERS = ("sgd",)
SCHEDULES = ("step", "onecycle")
PIPELINES = ("A", "B")

# Ours: one-cycle schedule, lighter dropout, augmentation on the device.
FAST = Recipe(
    name="fast",
    model="net6-dropout-0.05",
    optimizer="sgd",
    lr=0.05,
    momentum=0.9,
    weight_decay=5e-4,
    nesterov=True,
    schedule="onecycle",
    pct_start=0.2,
    batch_size=128,
    test_batch_size=2048,
    epochs=15,
    pipeline="B",
)

RECIPES: dict[str, Recipe] = {
    # The original assignment, as published (no seed was set there).
    "seed": Recipe(
        name="seed",
        model="net6",
        optimizer="sgd",
        lr=0.01,
        momentum=0.9,
        weight_decay=0.0,
        nesterov=False,
        schedule="step",
        step_size=15,
        gamma=0.1,
        batch_size=512,
        test_batch_size=2048,
        epochs=20,
        pipeline="A",
    ),
    "fast": FAST,
    # The fast recipe in 8 epochs: the quick round's pick on the validation split
    # (s6lib.analysis.selection.quick_pick; plan "quick-round"), trained on all 60,000 images in plan "short". No
    # candidate met the bar on the validation split (the pick's lowest last-3 epoch fell 0.20 points
    # short), so the recipe is not called quick.
    "short": dataclasses.replace(FAST, name="short", epochs=8),
}


# What readers and the command line call a stored name. The original recipe is stored as "seed": its
# run records carry that name in their config, and so in the fingerprint that proves them fresh, so it
# stays; but "seed" also means a random seed, so pages, legends and `--recipe` say "original".
DISPLAY_NAMES = {"seed": "original"}


def display_name(name: str) -> str:
    """The name a reader sees for a stored recipe or experiment name ("seed" -> "original")."""
    return DISPLAY_NAMES.get(name, name)


def stored_name(name: str) -> str:
    """The stored name for a reader's name ("original" -> "seed"); any other name is returned as it is."""
    return next((stored for stored, shown in DISPLAY_NAMES.items() if shown == name), name)


RECIPE_CHOICES = tuple(display_name(name) for name in RECIPES)  # what `--recipe` takes


class ConfigError(ValueError):
    """A recipe, override or device that cannot run; the message says what to change."""


def get_recipe(name: str) -> Recipe:
    """A named recipe, by its reader's name ("original") or its stored one ("seed")."""
    try:
        return RECIPES[stored_name(name)]
    except KeyError:
        raise ConfigError(f"unknown recipe {name!r}; choose from: {', '.join(RECIPE_CHOICES)}") from None


def validate(recipe: Recipe) -> Recipe:
    """Raise ConfigError naming the first bad field; return the recipe unchanged."""
    checks = [
        (recipe.model in VARIANTS, "model", f"choose from: {', '.join(VARIANTS)}"),
        (recipe.optimizer in OPTIMIZERS, "optimizer", f"choose from: {', '.join(OPTIMIZERS)}"),
        (recipe.schedule in SCHEDULES, "schedule", f"choose from: {', '.join(SCHEDULES)}"),
        (recipe.pipeline in PIPELINES, "pipeline", f"choose from: {', '.join(PIPELINES)}"),
        (recipe.lr > 0, "lr", "must be > 0"),
        (0 <= recipe.momentum < 1, "momentum", "must be in [0, 1)"),
        (recipe.weight_decay >= 0, "weight_decay", "must be >= 0"),
        (not recipe.nesterov or recipe.momentum > 0, "nesterov", "needs momentum > 0"),
        (recipe.schedule != "step" or (recipe.step_size or 0) >= 1, "step_size", "must be >= 1 for schedule 'step'"),
        (recipe.schedule != "step" or (recipe.gamma or 0) > 0, "gamma", "must be > 0 for schedule 'step'"),
        (recipe.schedule != "onecycle" or 0 < (recipe.pct_start or 0) < 1, "pct_start",
         "must be in (0, 1) for schedule 'onecycle'"),
        (recipe.batch_size >= 1, "batch_size", "must be >= 1"),
        (recipe.test_batch_size >= 1, "test_batch_size", "must be >= 1"),
        (recipe.epochs >= 1, "epochs", "must be >= 1"),
        (0 <= recipe.augment.crop_prob <= 1, "augment.crop_prob", "must be in [0, 1]"),
        (0 < recipe.augment.crop_size <= 28, "augment.crop_size", "must be in 1..28"),
        (recipe.augment.interpolation in ("nearest", "bilinear"), "augment.interpolation",
         "choose from: nearest, bilinear"),
        (0 <= recipe.augment.translate <= 0.5, "augment.translate", "must be in [0, 0.5] (a fraction of the image)"),
        (0 <= recipe.label_smoothing < 1, "label_smoothing", "must be in [0, 1)"),
        (recipe.validation is None or recipe.validation in VALIDATION_SPLITS, "validation",
         f"choose from: {', '.join(VALIDATION_SPLITS)} (or None: train on all 60,000, evaluate on the test set)"),
        (recipe.ema is None or 0 < recipe.ema < 1, "ema", "must be in (0, 1), e.g. 0.999 (or None: no average)"),
    ]
    for ok, name, rule in checks:
        if not ok:
            value = recipe.augment if name.startswith("augment.") else recipe
            raise ConfigError(f"recipe {display_name(recipe.name)!r}: {name}={getattr(value, name.split('.')[-1])!r} "
                              f"{rule}")
    return recipe


# --- the config a run records ---------------------------------------------------------------------

DRY_RUN_BATCHES = 2  # training batches of a --dry-run (one test batch)
WORKERS = 2  # pipeline A's DataLoader processes (Colab's machines have 2 CPU cores)


def effective_run(recipe: Recipe, limit_train: int | None, limit_test: int | None, dry_run: bool):
    """(recipe, limit_train, limit_test) as a run uses them: a dry run is one epoch of
    DRY_RUN_BATCHES training batches and one test batch."""
    if not dry_run:
        return recipe, limit_train, limit_test
    cap_train, cap_test = DRY_RUN_BATCHES * recipe.batch_size, recipe.test_batch_size
    return (dataclasses.replace(recipe, epochs=1), min(limit_train or cap_train, cap_train),
            min(limit_test or cap_test, cap_test))


def run_config(recipe: Recipe, *, seed: int, limit_train: int | None = None, limit_test: int | None = None,
               dry_run: bool = False, num_workers: int = WORKERS) -> dict:
    """The config a run records: everything that decides its numbers (on one machine)."""
    recipe, limit_train, limit_test = effective_run(recipe, limit_train, limit_test, dry_run)
    return {
        "recipe": recipe_config(recipe),
        "seed": seed,
        "limit_train": limit_train,
        "limit_test": limit_test,
        "dry_run": dry_run,
        "num_workers": num_workers,
    }
