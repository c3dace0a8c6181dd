"""s6lib: the library behind the S6 course site.

The modules in the order a reader meets them in the book (chapter in brackets):

Part 1, backpropagation by hand (SymPy and NumPy; no torch)
    backprop          the 2-2-2 network, its SymPy-derived gradients, gradient-descent iterations
                      [forward pass, partial derivatives, the backprop table, learning rates]
    by_hand           every step of the worked example with its numbers substituted by SymPy
                      [forward pass, partial derivatives, the backprop table]
    excel             the students' sheet as an .xlsx with live formulas and stored values  [the backprop table]
    backprop_plots    the network diagrams (weights, forward values, deltas) and the loss curves  [all of Part 1]
    large_rates       where training stalls (a search over η) and the curvature behind it  [learning rates]
    widgets           the learning-rate sliders                                [learning rates]
    part1_answers     the numeric answers of Part 1's exercises, and their likely slips  [all of Part 1]

Part 2, a sub-20k-parameter CNN on MNIST (torch)
    models            Net6 and its variants, from a declarative NetSpec; Net6 by hand  [Net6]
    receptive_field   each layer's receptive field, by the rule and by autograd  [Net6]
    mnist_exercises   the numeric answers of Part 2's exercises, and their likely slips  [Net6, training]
    data              MNIST on disk; pipeline A (torchvision) and B (on the device)  [training]
    recipes           every hyperparameter of a run, by name                   [training]
    engine            one training step: optimizer, schedule, precision, eager epochs  [training]
    graph             the same step captured as one CUDA graph                 [training]
    train             a whole run: the epoch loop and the run record it writes [training]
    loop              the training loop as a student writes it (tested equal to engine's)  [training]
    records           the run record's schema; atomic writes                   [training, status]
    original          what the original assignment published (syllabus, logs) [training, ablations]
    experiments       the run plans (training, ablations, small, tuning); the records audit  [ablations]
    runs              where the records are; each planned run with its record  [all of Part 2]
    results           records -> numbers, tables, comparisons, verdicts  [all of Part 2]
    comparisons       exact permutation tests over seeds, their intervals, Holm's correction  [ablations]
    ablations         each ablation against the baseline, by section; a failed seed's facts  [ablations]
    training_notes    particular runs' numbers; the fast recipe's settings    [methods]
    mistakes          confusion matrix and hardest digits, from the records    [training]
    mnist_plots       learning curves, accuracies by seed, confusions, digits  [all of Part 2]

Tools behind the pages
    exercises         the answer box: a number checked in the page, with the exercise's hints  [every chapter]
    sweep             many runs side by side, resumable (`python -m s6lib sweep`)
    bench             the speed benchmark (`python -m s6lib bench`)            [status]
    provenance        device, package versions and commit of a result          [status]
    edition           the full or the student edition (S6_EDITION; `make student`)
    workbook_check    a student's backprop sheet checked: the first wrong cell (`check-workbook`)
    class_report      a class's run records validated, counted and drawn (`class-report`)
    run_times         minutes: the chapters' stated times, training times from the records
                      [how to run, instructor guide]
    guide             the instructor guide's slips table and the assignments' rubric points  [instructor guide]
    __main__          the command line: train, sweep, bench, summary, data, check-workbook, class-report

Importing `s6lib` itself loads nothing; each chapter imports the modules it uses.
"""

__version__ = "0.1.0"
