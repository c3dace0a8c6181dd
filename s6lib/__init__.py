"""s6lib: the library behind the S6 course site.

Five subpackages, in the order a reader meets them in the book. Each one's docstring says what each
of its modules does, with the chapters that use it in brackets.

    backprop/   Part 1, backpropagation by hand (SymPy and NumPy; no torch)
                network, by_hand, excel, plots, large_rates, widgets, answers, workbook_check
    mnist/      Part 2, a sub-20k-parameter CNN on MNIST: the networks, the data, a training run (torch)
                models, receptive_field, answers, data, recipes, engine, graph, train, loop, digit, plots
    lab/        how runs are planned, stored, run and timed (torch only in what trains: sweep, bench)
                records, experiments, runs, sweep, bench, hardware, provenance, run_times, status
    analysis/   numbers from the records, and the published numbers they are set beside (no torch)
                results, comparisons, ablations, selection, best, training_notes, mistakes, class_report,
                original, field
    book/       what the pages need: answer boxes, the edition, the house style, the guide's tables
                exercises, edition, style, guide

    __main__    the command line: train, sweep, bench, summary, data, check-workbook, class-report

Importing `s6lib` or a subpackage loads nothing; each chapter imports the modules it uses.
"""

__version__ = "0.1.0"
