"""s6lib: the library behind the S6 course site.

Five subpackages, in the order a reader meets them in the book. Each one's docstring says what each
of its modules does, with the chapters that use it in brackets.

    backprop/   Part 1, backpropagation by hand (SymPy and NumPy; no torch)
                network, by_hand, excel, plots, large_rates, widgets, answers, workbook_check
    mnist/      Part 2, a sub-20k-parameter CNN on MNIST: the networks, the data, a training run (torch)
                specs, models, receptive_field, answers, data, recipes, goals, engine, graph, train, loop, digit, plots
    lab/        how runs are planned, stored, run and timed (imports no torch, but for sweep and bench, which train)
                records, experiments, runs, sweep, bench, hardware, provenance, run_times, status
    analysis/   numbers from the records, and the published numbers they are set beside (imports no torch)
                results, comparisons, ablations, selection, best, training_notes, mistakes, class_report,
                original, field
    book/       what the pages need: answer boxes, the edition, the house style, the guide's tables
                exercises, edition, style, guide

    __main__    the command line: train, sweep, bench, summary, data, check-workbook, class-report

Importing `s6lib` or a subpackage loads nothing; each chapter imports the modules it uses. A page that
only reads run records loads no torch: backprop/, lab/ (but sweep and bench), analysis/, and the specs,
recipes and goals of mnist/ import none (tests/test_package.py checks it).
"""

__version__ = "0.1.0"
