"""Part 1, backpropagation by hand (SymPy and NumPy; no torch). The modules, and their chapters:

    network           the 2-2-2 network, its SymPy-derived gradients, gradient-descent iterations  [all of Part 1]
    by_hand           every step of the worked example with its numbers substituted by SymPy
    excel             the students' sheet as an .xlsx with live formulas and stored values  [the backprop table]
    plots             the network diagrams (weights, forward values, deltas) and the loss curves  [all of Part 1]
    large_rates       where training stalls (a search over η) and the curvature behind it  [learning rates]
    widgets           the learning-rate sliders                                [learning rates]
    answers           the numeric answers of Part 1's exercises, and their likely slips  [all of Part 1]
    workbook_check    a student's backprop sheet checked: the first wrong cell (`check-workbook`)
"""
