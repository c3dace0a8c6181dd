"""Part 2, a sub-20k-parameter CNN on MNIST (torch, but for specs and recipes, which the plans use).
The modules, and their chapters:

    specs             Net6 and its variants as data: the declarative NetSpec, VARIANTS (no torch)  [Net6]
    models            the networks as torch modules, built from a NetSpec; Net6 by hand  [Net6]
    receptive_field   each layer's receptive field, by the rule and by autograd  [Net6]
    answers           the numeric answers of Part 2's exercises, and their likely slips  [Net6, training]
    data              MNIST on disk; pipeline A (torchvision) and B (on the device)  [training]
    recipes           every hyperparameter of a run, by name; the config a run records  [training]
    goals             the bar, the budgets and the goals a run is judged by (no torch)  [training]
    engine            one training step: optimizer, schedule, precision, eager epochs  [training]
    graph             the same step captured as one CUDA graph                 [training]
    train             a whole run: the epoch loop and the run record it writes [training]
    loop              the training loop as a student writes it (tested equal to engine's)  [training]
    digit             the draw-a-digit page's network and sample digits (`export-digit`)  [draw]
    plots             learning curves, accuracies by seed, confusions, digits  [all of Part 2]
"""
